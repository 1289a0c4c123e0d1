// Feeds the input as a wire::SecAggRoundParams (protobuf bytes, as a site receives them with its
// assignment) through from_wire() (privacy/secagg/secure_aggregation_wire.h) into SecAggSite and
// SecAggServer, then has the site advertise its keys. Finding: anything but fedxray::Error
// (SecAggRefusal is one) from the constructors or advertise(), params that do not survive
// to_wire(from_wire()), or any crash, leak or sanitizer report.
#include <cstdlib>

#include "base/error.h"
#include "fuzz/secagg_fixture.h"
#include "privacy/secagg/secure_aggregation_server.h"
#include "privacy/secagg/secure_aggregation_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  fedxray::wire::SecAggRoundParams params;
  if (!params.ParseFromArray(data, int(size))) return 0;
  const fedxray::SecAggRound round = fedxray::from_wire("fuzz-job", 1, params);
  const auto back = fedxray::to_wire(round, params.scale(), params.clip());
  const auto again = fedxray::to_wire(fedxray::from_wire("fuzz-job", 1, back), back.scale(),
                                      back.clip());
  if (back.SerializeAsString() != again.SerializeAsString()) std::abort();
  if (round.sites.size() > 4096) return 0;  // the coordinator never selects this many
  const auto& consortium = fedxray::fuzz::secagg_consortium();
  try {
    fedxray::SecAggServer server(round, consortium.ca.certificate_pem());
    (void)server.unmask_request();
  } catch (const fedxray::Error&) {
  }
  for (const auto& credentials : consortium.sites) {
    try {
      fedxray::SecAggSite site(credentials, round);
      const fedxray::KeyAdvert advert = site.advertise();
      if (fedxray::from_wire(fedxray::to_wire(advert)).signature != advert.signature) std::abort();
    } catch (const fedxray::Error&) {
    }
  }
  return 0;
}

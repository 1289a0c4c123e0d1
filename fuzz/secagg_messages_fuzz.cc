// Plays one secure-aggregation round (privacy/secagg/secure_aggregation_server.h, _site.h) between
// three real sites, where site-02 misbehaves: each of its four messages (key advert, sealed
// shares, share receipt, unmask reveal) is its honest one in protobuf form with a fuzz chunk
// merged over it (MergeFromString: fields replaced, list items added), converted back with
// from_wire() (privacy/secagg/secure_aggregation_wire.h) and handed to the coordinator's SecAggServer;
// the honest sites get whatever the server relays. Input: four chunks, each
// [u16 little-endian length][protobuf bytes]; a missing or empty chunk leaves that message honest.
// Finding: anything but fedxray::Error (SecAggRefusal is one) escaping a site or the server, an
// honest round (no chunk applied) that does not end with the exact sum, or any crash, leak or
// sanitizer report.
#include <cstdlib>
#include <map>
#include <memory>

#include "base/error.h"
#include "fuzz/secagg_fixture.h"
#include "privacy/secagg/secure_aggregation_server.h"
#include "privacy/secagg/secure_aggregation_wire.h"

namespace {

using namespace fedxray;

constexpr const char* kAttacker = "site-02";
constexpr std::size_t kWords = 8;

// Splits the input into up to four chunks.
std::vector<std::string> chunks(const uint8_t* data, std::size_t size) {
  std::vector<std::string> out(4);
  std::size_t at = 0;
  for (auto& chunk : out) {
    if (at + 2 > size) break;
    const std::size_t length = std::size_t(data[at]) | (std::size_t(data[at + 1]) << 8);
    at += 2;
    const std::size_t take = std::min(length, size - at);
    chunk.assign(reinterpret_cast<const char*>(data + at), take);
    at += take;
  }
  return out;
}

// The honest message with `chunk` merged over it; `applied` says whether it changed anything.
template <typename Wire>
Wire tampered(Wire honest, const std::string& chunk, bool& applied) {
  if (chunk.empty()) return honest;
  Wire merged = honest;
  if (!merged.MergeFromString(chunk)) return honest;
  applied = applied || merged.SerializeAsString() != honest.SerializeAsString();
  return merged;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const auto& consortium = fuzz::secagg_consortium();
  const std::vector<std::string> chunk = chunks(data, size);
  bool applied = false;

  SecAggRound round;
  round.job = "fuzz-job";
  round.round = 1;
  for (const auto& s : consortium.sites) round.sites.push_back(s.name);
  round.threshold = 2;
  round.graph_seed = "fuzz-seed";
  round.vector_words = kWords;

  SecAggServer server(round, consortium.ca.certificate_pem());
  std::map<std::string, std::unique_ptr<SecAggSite>> sites;
  std::map<std::string, std::vector<uint32_t>> inputs;
  for (const auto& credentials : consortium.sites) {
    const std::string& name = credentials.name;
    inputs[name].assign(kWords, uint32_t(name.back()));
    sites[name] = std::make_unique<SecAggSite>(credentials, round);
    KeyAdvert advert = sites[name]->advertise();
    if (name == kAttacker) advert = from_wire(tampered(to_wire(advert), chunk[0], applied));
    server.add_advert(advert);
  }
  const std::vector<KeyAdvert> directory = server.directory();

  for (auto& [name, site] : sites) {
    if (!server.takes_part(name)) continue;
    std::vector<SealedShare> shares;
    try {
      shares = site->share_secrets(directory);
    } catch (const Error&) {
      continue;
    }
    if (name == kAttacker) {
      wire::SecAggShares honest;
      for (const auto& s : shares) *honest.add_shares() = to_wire(s);
      const wire::SecAggShares sent = tampered(honest, chunk[1], applied);
      shares.clear();
      for (const auto& s : sent.shares()) shares.push_back(from_wire(s));
    }
    server.add_shares(name, shares);
  }

  for (auto& [name, site] : sites) {
    if (!server.takes_part(name)) continue;
    try {
      ShareReceipt receipt = site->receive_shares(server.shares_for(name));
      if (name == kAttacker) {
        receipt = from_wire(name, tampered(to_wire(receipt), chunk[2], applied));
      }
      server.add_receipt(receipt);
    } catch (const Error&) {
    }
  }
  server.close_receipts();

  for (auto& [name, site] : sites) {
    if (!server.can_send_masked_input(name).empty()) continue;
    try {
      site->accept_plan(server.plan_for(name));
      std::vector<uint32_t> masked = inputs[name];
      site->mask(masked.data(), masked.size(), 0);
      server.add_masked_input(name, masked);
    } catch (const Error&) {
    }
  }

  const UnmaskRequest request = server.unmask_request();
  for (const auto& name : request.survivors) {
    try {
      UnmaskResponse response = sites.at(name)->unmask(request);
      if (name == kAttacker) {
        response = from_wire(name, tampered(to_wire(response), chunk[3], applied));
      }
      server.add_unmask_response(response);
    } catch (const Error&) {
    }
  }

  std::vector<uint32_t> sum;
  const SecAggReport report = server.finish(sum);
  if (!applied) {
    std::vector<uint32_t> expected(kWords, 0u);
    for (const auto& name : report.masked) {
      for (std::size_t k = 0; k < kWords; ++k) expected[k] += inputs[name][k];
    }
    if (!report.succeeded || report.masked.size() != 3 || sum != expected) std::abort();
  }
  return 0;
}

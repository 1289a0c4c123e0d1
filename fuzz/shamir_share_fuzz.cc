// Feeds Shamir shares (privacy/secagg/shamir.h) as a site's unmask response carries them:
// byte 0 = threshold, then shares as [u16 little-endian length][ShamirShare bytes]. Each is
// parsed, re-serialised, and the parsed set goes to shamir_recover(). Finding: anything but
// fedxray::Error, an accepted share that does not serialise back to the same bytes, a recovered
// secret whose length differs from what the shares say, or any crash, leak or sanitizer report
// (an allocation beyond -rss_limit_mb included: shares come from other sites).
#include <cstdlib>
#include <vector>

#include "base/error.h"
#include "privacy/secagg/shamir.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const int threshold = data[0] % 9;  // 0..8, 0 is a caller error the API must refuse
  std::vector<fedxray::ShamirShare> shares;
  std::size_t at = 1;
  while (at + 2 <= size) {
    const std::size_t length = std::size_t(data[at]) | (std::size_t(data[at + 1]) << 8);
    at += 2;
    const std::size_t take = std::min(length, size - at);
    const std::string bytes(reinterpret_cast<const char*>(data + at), take);
    at += take;
    try {
      fedxray::ShamirShare s = fedxray::ShamirShare::parse(bytes);
      if (s.serialize() != bytes) std::abort();
      shares.push_back(std::move(s));
    } catch (const fedxray::Error&) {
    }
  }
  try {
    const std::string secret = fedxray::shamir_recover(shares, threshold);
    if (secret.size() != shares.at(0).secret_bytes) std::abort();
  } catch (const fedxray::Error&) {
  }
  return 0;
}

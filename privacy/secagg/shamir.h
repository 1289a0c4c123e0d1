// Shamir secret sharing, t of n, over the prime field GF(p) with p = 2^61 - 1 (a Mersenne prime,
// so products fit in 128 bits and reduce with a shift and an add).
//
// A secret of any length is cut into 4-byte words; each word (< 2^32 < p) is the constant term
// of its own random polynomial of degree t - 1. Share i (x = i, 1..n) holds every polynomial's
// value at x. Any t shares with distinct x recover the secret exactly; t - 1 shares are uniformly
// distributed whatever the secret, so they say nothing about it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

constexpr uint64_t kShamirPrime = (uint64_t(1) << 61) - 1;

struct ShamirShare {
  uint32_t x = 0;               // 1..n: the recipient's position
  std::vector<uint64_t> y;      // one field element per 4-byte word of the secret
  uint32_t secret_bytes = 0;    // length of the secret, to drop the padding on recovery

  std::string serialize() const;                          // little-endian, fixed layout
  static ShamirShare parse(const std::string& bytes);     // throws Error on malformed input
};

// Splits `secret` into n shares, any `threshold` of which recover it. 1 <= threshold <= n.
// Coefficients come from OpenSSL's CSPRNG.
std::vector<ShamirShare> shamir_split(const std::string& secret, int threshold, int n);

// Recovers the secret from at least `threshold` shares (the first `threshold` are used). Throws
// Error when there are too few, two share the same x, x is 0, a value is not a field element,
// or the shares disagree on the secret's length.
std::string shamir_recover(const std::vector<ShamirShare>& shares, int threshold);

}  // namespace fedxray

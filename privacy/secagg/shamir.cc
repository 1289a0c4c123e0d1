#include "privacy/secagg/shamir.h"

#include <openssl/rand.h>

#include <cstring>

#include "base/byte_order.h"
#include "base/error.h"

namespace fedxray {
namespace {

uint64_t reduce(unsigned __int128 v) {
  // v = hi * 2^61 + lo, and 2^61 = 1 (mod p).
  uint64_t r = uint64_t(v & kShamirPrime) + uint64_t(v >> 61);
  r = (r & kShamirPrime) + (r >> 61);
  return r >= kShamirPrime ? r - kShamirPrime : r;
}
uint64_t add(uint64_t a, uint64_t b) { return reduce((unsigned __int128)a + b); }
uint64_t sub(uint64_t a, uint64_t b) { return add(a, kShamirPrime - b); }
uint64_t mul(uint64_t a, uint64_t b) { return reduce((unsigned __int128)a * b); }
uint64_t power(uint64_t base, uint64_t e) {
  uint64_t r = 1;
  for (; e; e >>= 1, base = mul(base, base)) {
    if (e & 1) r = mul(r, base);
  }
  return r;
}
uint64_t inverse(uint64_t a) { return power(a, kShamirPrime - 2); }  // Fermat; a != 0

uint64_t random_field_element() {
  for (;;) {  // rejection sampling keeps the distribution uniform
    uint64_t v = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&v), sizeof v) != 1) {
      throw Error("OpenSSL's random generator failed");
    }
    v &= kShamirPrime;
    if (v < kShamirPrime) return v;
  }
}


}  // namespace

std::string ShamirShare::serialize() const {
  std::string out;
  put_le32(out, x);
  put_le32(out, secret_bytes);
  for (uint64_t v : y) put_le64(out, v);
  return out;
}

ShamirShare ShamirShare::parse(const std::string& bytes) {
  if (bytes.size() < 8 || (bytes.size() - 8) % 8 != 0) {
    throw Error("malformed secret share: " + std::to_string(bytes.size()) + " bytes");
  }
  ShamirShare s;
  s.x = uint32_t(get_le(bytes, 0, 4));
  s.secret_bytes = uint32_t(get_le(bytes, 4, 4));
  for (std::size_t at = 8; at < bytes.size(); at += 8) s.y.push_back(get_le(bytes, at, 8));
  if (s.y.size() != (uint64_t(s.secret_bytes) + 3) / 4) {  // 64-bit: 2^32 - 1 bytes must not wrap
    throw Error("malformed secret share: " + std::to_string(s.y.size()) + " values for a " +
                std::to_string(s.secret_bytes) + "-byte secret");
  }
  return s;
}

std::vector<ShamirShare> shamir_split(const std::string& secret, int threshold, int n) {
  if (threshold < 1 || threshold > n) {
    throw Error("secret sharing needs 1 <= threshold <= n, got threshold " +
                std::to_string(threshold) + " of " + std::to_string(n));
  }
  const std::size_t words = (secret.size() + 3) / 4;
  std::vector<ShamirShare> shares(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    shares[std::size_t(i)].x = uint32_t(i + 1);
    shares[std::size_t(i)].secret_bytes = uint32_t(secret.size());
    shares[std::size_t(i)].y.resize(words);
  }
  std::vector<uint64_t> coefficients(static_cast<std::size_t>(threshold));
  for (std::size_t w = 0; w < words; ++w) {
    uint32_t word = 0;
    std::memcpy(&word, secret.data() + 4 * w, std::min<std::size_t>(4, secret.size() - 4 * w));
    coefficients[0] = word;
    for (int k = 1; k < threshold; ++k) coefficients[std::size_t(k)] = random_field_element();
    for (auto& share : shares) {
      uint64_t value = 0;  // Horner
      for (int k = threshold - 1; k >= 0; --k) {
        value = add(mul(value, share.x), coefficients[std::size_t(k)]);
      }
      share.y[w] = value;
    }
  }
  return shares;
}

std::string shamir_recover(const std::vector<ShamirShare>& shares, int threshold) {
  if (threshold < 1 || shares.size() < std::size_t(threshold)) {
    throw Error("cannot recover a secret from " + std::to_string(shares.size()) +
                " shares: the threshold is " + std::to_string(threshold));
  }
  const std::size_t t = std::size_t(threshold);
  const uint32_t length = shares[0].secret_bytes;
  const std::size_t words = (std::size_t(length) + 3) / 4;
  for (std::size_t i = 0; i < t; ++i) {
    const ShamirShare& s = shares[i];
    if (s.x == 0) throw Error("secret share with invalid x = 0");  // x < 2^32 < p
    if (s.secret_bytes != length || s.y.size() != words) {
      throw Error("secret shares disagree on the secret's length");
    }
    for (uint64_t v : s.y) {
      if (v >= kShamirPrime) throw Error("secret share value is not a field element");
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (shares[j].x == s.x) throw Error("two secret shares for the same x = " + std::to_string(s.x));
    }
  }
  // Lagrange basis at 0: l_i = prod_{j != i} x_j / (x_j - x_i).
  std::vector<uint64_t> basis(t);
  for (std::size_t i = 0; i < t; ++i) {
    uint64_t num = 1, den = 1;
    for (std::size_t j = 0; j < t; ++j) {
      if (j == i) continue;
      num = mul(num, shares[j].x);
      den = mul(den, sub(shares[j].x, shares[i].x));
    }
    basis[i] = mul(num, inverse(den));
  }
  std::string secret(words * 4, '\0');
  for (std::size_t w = 0; w < words; ++w) {
    uint64_t value = 0;
    for (std::size_t i = 0; i < t; ++i) value = add(value, mul(shares[i].y[w], basis[i]));
    if (value > 0xffffffffu) throw Error("secret shares are inconsistent (not from one secret)");
    const uint32_t word = uint32_t(value);
    std::memcpy(&secret[4 * w], &word, 4);
  }
  secret.resize(length);
  return secret;
}

}  // namespace fedxray

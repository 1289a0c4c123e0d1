// X25519 key pairs and the pairwise keys derived from them (X25519, then HKDF-SHA256), via
// OpenSSL 3's EVP API. Both ends of a pair derive the same 32-byte key from their own secret key
// and the other's public key; `context` binds the key to its use (job, round, purpose).
#pragma once

#include <string>

namespace fedxray {

struct X25519KeyPair {
  std::string public_key;   // 32 raw bytes
  std::string secret_key;   // 32 raw bytes; never leaves the site except as Shamir shares

  static X25519KeyPair generate();
  // Rebuilds the pair from a secret key (e.g. one recovered from shares). Throws on a bad length.
  static X25519KeyPair from_secret(const std::string& secret_key);
};

// HKDF-SHA256(X25519(secret_key, peer_public_key), info = context) -> 32 bytes. Throws Error on
// a malformed key or a low-order peer key (all-zero shared secret).
std::string derive_pairwise_key(const std::string& secret_key, const std::string& peer_public_key,
                                const std::string& context);

// 32 bytes from OpenSSL's CSPRNG.
std::string random_seed();

}  // namespace fedxray

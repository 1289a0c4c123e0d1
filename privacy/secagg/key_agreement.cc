#include "privacy/secagg/key_agreement.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <memory>

#include "base/error.h"

namespace fedxray {
namespace {

using PKey = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PKeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
constexpr std::size_t kKeyBytes = 32;

const unsigned char* bytes(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

PKey raw_key(const std::string& raw, bool secret) {
  if (raw.size() != kKeyBytes) {
    throw Error(std::string("X25519 ") + (secret ? "secret" : "public") + " key must be 32 bytes, got " +
                std::to_string(raw.size()));
  }
  EVP_PKEY* key = secret ? EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, bytes(raw), raw.size())
                         : EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, bytes(raw), raw.size());
  if (!key) throw Error("OpenSSL rejected an X25519 key");
  return PKey(key, EVP_PKEY_free);
}

std::string public_of(EVP_PKEY* key) {
  std::string out(kKeyBytes, '\0');
  std::size_t len = out.size();
  if (EVP_PKEY_get_raw_public_key(key, reinterpret_cast<unsigned char*>(out.data()), &len) != 1 ||
      len != kKeyBytes) {
    throw Error("cannot read an X25519 public key");
  }
  return out;
}

}  // namespace

X25519KeyPair X25519KeyPair::generate() {
  PKeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    throw Error("cannot generate an X25519 key pair");
  }
  PKey key(raw, EVP_PKEY_free);
  X25519KeyPair pair;
  pair.public_key = public_of(key.get());
  pair.secret_key.assign(kKeyBytes, '\0');
  std::size_t len = kKeyBytes;
  if (EVP_PKEY_get_raw_private_key(key.get(), reinterpret_cast<unsigned char*>(pair.secret_key.data()),
                                   &len) != 1) {
    throw Error("cannot read an X25519 secret key");
  }
  return pair;
}

X25519KeyPair X25519KeyPair::from_secret(const std::string& secret_key) {
  PKey key = raw_key(secret_key, true);
  return X25519KeyPair{public_of(key.get()), secret_key};
}

std::string derive_pairwise_key(const std::string& secret_key, const std::string& peer_public_key,
                                const std::string& context) {
  PKey mine = raw_key(secret_key, true);
  PKey theirs = raw_key(peer_public_key, false);
  PKeyCtx ctx(EVP_PKEY_CTX_new(mine.get(), nullptr), EVP_PKEY_CTX_free);
  std::string shared(kKeyBytes, '\0');
  std::size_t len = shared.size();
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer(ctx.get(), theirs.get()) != 1 ||
      EVP_PKEY_derive(ctx.get(), reinterpret_cast<unsigned char*>(shared.data()), &len) != 1) {
    throw Error("X25519 key agreement failed (malformed or low-order public key)");
  }
  std::unique_ptr<EVP_KDF, decltype(&EVP_KDF_free)> kdf(EVP_KDF_fetch(nullptr, "HKDF", nullptr),
                                                        EVP_KDF_free);
  std::unique_ptr<EVP_KDF_CTX, decltype(&EVP_KDF_CTX_free)> kctx(
      kdf ? EVP_KDF_CTX_new(kdf.get()) : nullptr, EVP_KDF_CTX_free);
  if (!kctx) throw Error("OpenSSL has no HKDF");
  char digest[] = "SHA256";
  std::string salt = "fedxray secure aggregation v1";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, shared.data(), shared.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(context.data()),
                                        context.size()),
      OSSL_PARAM_construct_end()};
  std::string key(kKeyBytes, '\0');
  if (EVP_KDF_derive(kctx.get(), reinterpret_cast<unsigned char*>(key.data()), key.size(), params) != 1) {
    throw Error("HKDF-SHA256 failed");
  }
  return key;
}

std::string random_seed() {
  std::string seed(kKeyBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(seed.data()), int(seed.size())) != 1) {
    throw Error("OpenSSL's random generator failed");
  }
  return seed;
}

}  // namespace fedxray

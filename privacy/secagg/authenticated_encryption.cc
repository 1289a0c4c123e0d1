#include "privacy/secagg/authenticated_encryption.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "base/error.h"

namespace fedxray {
namespace {

constexpr int kNonce = 12, kTag = 16;
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

unsigned char* u(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }
const unsigned char* u(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string seal(const std::string& key, const std::string& plaintext, const std::string& associated) {
  if (key.size() != 32) throw Error("AES-256-GCM needs a 32-byte key");
  std::string out(kNonce + plaintext.size() + kTag, '\0');
  if (RAND_bytes(u(out), kNonce) != 1) throw Error("OpenSSL's random generator failed");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(key), u(out)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, u(associated), int(associated.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), u(out) + kNonce, &len, u(plaintext), int(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), u(out) + kNonce + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag,
                          u(out) + kNonce + plaintext.size()) != 1) {
    throw Error("AES-256-GCM encryption failed");
  }
  return out;
}

std::string open_sealed(const std::string& key, const std::string& sealed, const std::string& associated) {
  if (key.size() != 32) throw Error("AES-256-GCM needs a 32-byte key");
  if (sealed.size() < std::size_t(kNonce + kTag)) {
    throw Error("sealed message too short: " + std::to_string(sealed.size()) + " bytes");
  }
  const std::size_t n = sealed.size() - kNonce - kTag;
  std::string plain(n, '\0');
  std::string tag = sealed.substr(kNonce + n);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, u(key), u(sealed)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, u(associated), int(associated.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), u(plain), &len, u(sealed) + kNonce, int(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, u(tag)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), u(plain) + len, &len) != 1) {
    throw Error("sealed message failed authentication (wrong key, altered, or replayed)");
  }
  return plain;
}

}  // namespace fedxray

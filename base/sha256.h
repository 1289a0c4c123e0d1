// Sha256: incremental SHA-256 (OpenSSL EVP). Feed bytes in any number of pieces, then
// hex_digest() once. Not thread-safe; one instance per stream.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;

namespace fedxray {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(const void* data, std::size_t size);
  // Lower-case hex of the digest; the object cannot be fed afterwards.
  std::string hex_digest();

  static std::string of(const void* data, std::size_t size);

 private:
  evp_md_ctx_st* ctx_;
};

}  // namespace fedxray

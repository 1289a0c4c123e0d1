// Chunked model transfer, the receiving half: ModelAssembler rebuilds a ModelBlob from a
// manifest followed by byte chunks and checks the SHA-256 at the end.
//
// Contract: chunks must arrive in order (offset == bytes received so far) and be at most
// kMaxChunkBytes; anything else, a malformed manifest, a short or long stream, or a checksum
// mismatch throws fedxray::Error describing it. Memory: the assembled model, nothing more.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/sha256.h"
#include "wire/model_blob.h"

namespace fedxray {

inline constexpr std::size_t kMaxChunkBytes = std::size_t(1) << 20;

class ModelAssembler {
 public:
  // `max_total_bytes` guards against a sender announcing an absurd size.
  explicit ModelAssembler(const wire::ModelManifest& manifest,
                          uint64_t max_total_bytes = uint64_t(64) << 30);

  void append(uint64_t offset, const std::string& data);
  // Checks completeness and the SHA-256, then hands over the model.
  ModelBlob finish();

 private:
  ModelBlob blob_;
  Sha256 hash_;
};

// Splits [0, total) into chunk ranges of at most kMaxChunkBytes and calls fn(offset, size).
template <typename Fn>
void for_each_chunk(uint64_t total, Fn&& fn) {
  for (uint64_t off = 0; off < total; off += kMaxChunkBytes) {
    fn(off, std::size_t(std::min<uint64_t>(kMaxChunkBytes, total - off)));
  }
}

}  // namespace fedxray

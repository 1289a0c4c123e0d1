#include "wire/model_stream.h"

#include "base/error.h"

namespace fedxray {

ModelAssembler::ModelAssembler(const wire::ModelManifest& manifest, uint64_t max_total_bytes) {
  std::string problem = manifest_problem(manifest);
  if (!problem.empty()) throw Error("model manifest is malformed: " + problem);
  if (manifest.total_bytes() > max_total_bytes) {
    throw Error("model announces " + std::to_string(manifest.total_bytes()) +
                " bytes, more than the limit of " + std::to_string(max_total_bytes));
  }
  if (manifest.sha256().size() != 64) throw Error("model manifest carries no SHA-256");
  blob_.manifest = manifest;
  blob_.bytes.reserve(manifest.total_bytes());
}

void ModelAssembler::append(uint64_t offset, const std::string& data) {
  if (offset != blob_.bytes.size()) {
    throw Error("model chunk at byte " + std::to_string(offset) + " arrived out of order (expected " +
                std::to_string(blob_.bytes.size()) + ")");
  }
  if (data.size() > kMaxChunkBytes) throw Error("model chunk larger than 1 MiB");
  if (offset + data.size() > blob_.manifest.total_bytes()) {
    throw Error("model stream runs past the announced " +
                std::to_string(blob_.manifest.total_bytes()) + " bytes");
  }
  hash_.update(data.data(), data.size());
  blob_.bytes.append(data);
}

ModelBlob ModelAssembler::finish() {
  if (blob_.bytes.size() != blob_.manifest.total_bytes()) {
    throw Error("model stream ended after " + std::to_string(blob_.bytes.size()) + " of " +
                std::to_string(blob_.manifest.total_bytes()) + " bytes");
  }
  std::string got = hash_.hex_digest();
  if (got != blob_.manifest.sha256()) {
    throw Error("model checksum mismatch: received bytes hash to " + got + " but the sender "
                "announced " + blob_.manifest.sha256() + "; the transfer was corrupted");
  }
  return std::move(blob_);
}

}  // namespace fedxray

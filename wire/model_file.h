// Model files (".fxm"): how checkpoints and pooled models are stored on disk, torch-free.
//
// Layout: "FXMODEL1" | u64 LE manifest length | ModelManifest (protobuf, sha256 field empty) |
// raw tensor bytes | 64 hex chars of SHA-256 over the raw bytes. A "<file>.sha256" sidecar in
// sha256sum format is written next to it for operators.
//
// ModelFileWriter streams the raw bytes in (the coordinator never holds a whole model twice) and
// publishes atomically on commit(). ModelFileReader validates header and size on open and reads
// byte ranges with pread, so many downloads can share one reader. Errors throw fedxray::Error
// naming the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/atomic_file.h"
#include "base/sha256.h"
#include "wire/model_blob.h"

namespace fedxray {

class ModelFileWriter {
 public:
  ModelFileWriter(const std::string& path, const wire::ModelManifest& manifest);
  void write(const void* data, std::size_t size);
  // Checks the byte count, appends the checksum, publishes. Returns the hex SHA-256.
  std::string commit();

 private:
  std::string path_;
  uint64_t expected_ = 0;
  uint64_t written_ = 0;
  AtomicFileWriter file_;
  Sha256 hash_;
};

class ModelFileReader {
 public:
  explicit ModelFileReader(const std::string& path);
  ~ModelFileReader();
  ModelFileReader(const ModelFileReader&) = delete;
  ModelFileReader& operator=(const ModelFileReader&) = delete;

  // Manifest with sha256 filled in from the trailer.
  const wire::ModelManifest& manifest() const { return manifest_; }
  // Reads raw bytes [offset, offset+size) into out. Thread-safe.
  void read(uint64_t offset, std::size_t size, std::string& out) const;
  // Reads everything and verifies the checksum.
  ModelBlob read_all() const;

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t data_start_ = 0;
  wire::ModelManifest manifest_;
};

void write_model_file(const std::string& path, const ModelBlob& blob);
ModelBlob read_model_file(const std::string& path);

}  // namespace fedxray

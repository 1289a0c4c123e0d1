#include "wire/model_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/byte_order.h"
#include "base/error.h"

namespace fedxray {
namespace {

constexpr char kMagic[8] = {'F', 'X', 'M', 'O', 'D', 'E', 'L', '1'};
constexpr std::size_t kTrailer = 64;

void pread_exact(int fd, void* buf, std::size_t size, uint64_t offset, const std::string& path) {
  char* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = ::pread(fd, p, size, off_t(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw Error(path + ": model file is truncated or unreadable");
    p += n;
    size -= std::size_t(n);
    offset += uint64_t(n);
  }
}

}  // namespace

ModelFileWriter::ModelFileWriter(const std::string& path, const wire::ModelManifest& manifest)
    : path_(path), expected_(manifest.total_bytes()), file_(path) {
  wire::ModelManifest header = manifest;
  header.clear_sha256();
  std::string body = header.SerializeAsString();
  std::string head(kMagic, sizeof(kMagic));
  put_le64(head, body.size());
  head += body;
  file_.write(head.data(), head.size());
}

void ModelFileWriter::write(const void* data, std::size_t size) {
  written_ += size;
  if (written_ > expected_) throw Error(path_ + ": more model bytes written than the manifest says");
  hash_.update(data, size);
  file_.write(data, size);
}

std::string ModelFileWriter::commit() {
  if (written_ != expected_) {
    throw Error(path_ + ": model file got " + std::to_string(written_) + " of " +
                std::to_string(expected_) + " bytes");
  }
  std::string sha = hash_.hex_digest();
  file_.write(sha.data(), sha.size());
  file_.commit();
  write_file_atomically(path_ + ".sha256",
                        sha + "  " + std::filesystem::path(path_).filename().string() + "\n");
  return sha;
}

ModelFileReader::ModelFileReader(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) throw Error("cannot open model file " + path + ": " + std::strerror(errno));
  // A throwing constructor never reaches the destructor, so a refused file is closed here.
  try {
    struct stat st {};
    ::fstat(fd_, &st);
    const uint64_t file_size = uint64_t(st.st_size);
    unsigned char head[16];
    if (file_size < 16 + kTrailer) throw Error(path + ": not a fedxray model file (too short)");
    pread_exact(fd_, head, 16, 0, path);
    if (std::memcmp(head, kMagic, 8) != 0) {
      throw Error(path +
                  ": not a fedxray model file (bad magic); expected a .fxm written by fedxray");
    }
    uint64_t mlen = get_le(head + 8, 8);
    if (mlen > file_size) throw Error(path + ": model file header is corrupt");
    std::string body(mlen, '\0');
    pread_exact(fd_, body.data(), mlen, 16, path);
    if (!manifest_.ParseFromString(body)) throw Error(path + ": model manifest is corrupt");
    std::string problem = manifest_problem(manifest_);
    if (!problem.empty()) throw Error(path + ": model manifest is malformed: " + problem);
    data_start_ = 16 + mlen;
    if (file_size != data_start_ + manifest_.total_bytes() + kTrailer) {
      throw Error(path + ": model file is " + std::to_string(file_size) +
                  " bytes, which does not match its manifest; it is truncated or corrupt");
    }
    std::string sha(kTrailer, '\0');
    pread_exact(fd_, sha.data(), kTrailer, data_start_ + manifest_.total_bytes(), path);
    manifest_.set_sha256(sha);
  } catch (...) {
    ::close(fd_);
    fd_ = -1;
    throw;
  }
}

ModelFileReader::~ModelFileReader() {
  if (fd_ >= 0) ::close(fd_);
}

void ModelFileReader::read(uint64_t offset, std::size_t size, std::string& out) const {
  if (offset + size > manifest_.total_bytes()) throw Error(path_ + ": read past end of model");
  out.resize(size);
  pread_exact(fd_, out.data(), size, data_start_ + offset, path_);
}

ModelBlob ModelFileReader::read_all() const {
  ModelBlob blob;
  blob.manifest = manifest_;
  read(0, manifest_.total_bytes(), blob.bytes);
  std::string got = Sha256::of(blob.bytes.data(), blob.bytes.size());
  if (got != manifest_.sha256()) {
    throw Error(path_ + ": model bytes do not match the stored SHA-256; the file is corrupt");
  }
  return blob;
}

void write_model_file(const std::string& path, const ModelBlob& blob) {
  ModelFileWriter w(path, blob.manifest);
  w.write(blob.bytes.data(), blob.bytes.size());
  w.commit();
}

ModelBlob read_model_file(const std::string& path) { return ModelFileReader(path).read_all(); }

}  // namespace fedxray

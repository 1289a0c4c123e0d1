#include "base/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace fedxray {
namespace {

std::atomic<unsigned> g_temp_counter{0};

std::string errno_text() { return std::strerror(errno); }

}  // namespace

AtomicFileWriter::AtomicFileWriter(std::string path, int mode) : path_(std::move(path)) {
  temp_path_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" +
               std::to_string(g_temp_counter.fetch_add(1));
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd_ < 0) {
    throw Error("cannot create " + temp_path_ + ": " + errno_text() +
                "; check that the folder exists and is writable");
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_path_.c_str());
}

void AtomicFileWriter::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw Error("cannot write " + temp_path_ + ": " + errno_text() + "; is the disk full?");
    }
    p += n;
    size -= std::size_t(n);
  }
}

void AtomicFileWriter::commit() {
  if (::fsync(fd_) != 0) throw Error("cannot fsync " + temp_path_ + ": " + errno_text());
  if (::close(fd_) != 0) {
    fd_ = -1;
    throw Error("cannot close " + temp_path_ + ": " + errno_text());
  }
  fd_ = -1;
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    throw Error("cannot rename " + temp_path_ + " to " + path_ + ": " + errno_text());
  }
  committed_ = true;
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (dir.empty()) dir = ".";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void write_file_atomically(const std::string& path, const std::string& contents, int mode) {
  AtomicFileWriter w(path, mode);
  w.write(contents.data(), contents.size());
  w.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot read " + path + ": " + errno_text());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace fedxray

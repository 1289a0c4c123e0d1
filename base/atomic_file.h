// AtomicFileWriter: write a file so that readers see either the old complete file or the new
// complete file, never a half-written one, even across a crash.
//
// Contract: bytes go to "<path>.tmp-<pid>-<n>" in the same folder; commit() fsyncs the file,
// renames it over `path` and fsyncs the folder. If the writer is destroyed without commit() the
// temp file is removed and `path` is untouched. Errors throw fedxray::Error naming the path.
#pragma once

#include <cstddef>
#include <string>

namespace fedxray {

class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path, int mode = 0644);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, std::size_t size);
  void commit();

 private:
  std::string path_;
  std::string temp_path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Convenience: atomically replace `path` with `contents`.
void write_file_atomically(const std::string& path, const std::string& contents, int mode = 0644);

// Reads a whole file; throws Error naming the path when it cannot.
std::string read_file(const std::string& path);

}  // namespace fedxray

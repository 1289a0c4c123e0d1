// Shared by the fuzz targets: most of the project's parsers take a path, so the input is written
// to a file in a private temporary folder first (made once per process, removed at exit).
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fedxray::fuzz {

// The process's own temporary folder.
inline const std::string& temp_folder() {
  static const std::string folder = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "fedxray-fuzz-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) std::abort();
    static const std::string made = pattern;
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(made, ec);
    });
    return pattern;
  }();
  return folder;
}

// Writes the fuzz input to `name` in the temporary folder and returns its path.
inline std::string write_input(const uint8_t* data, std::size_t size, const std::string& name) {
  const std::string path = temp_folder() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  if (!out) std::abort();
  return path;
}

inline std::string as_string(const uint8_t* data, std::size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// The lowest free file descriptor: it grows when a call under test leaks one.
inline int lowest_free_fd() {
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) ::close(fd);
  return fd;
}

}  // namespace fedxray::fuzz

#include "base/private_file.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "base/error.h"

namespace fedxray {
namespace {

struct OpenFile {
  int fd;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", unsigned(mode & 07777));
  return buf;
}

void create_secret(const std::string& path, const std::string& what) {
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1) {
    throw Error("cannot create the " + what + ": OpenSSL's random generator failed");
  }
  const std::string aside =
      path + ".new-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  const int fd =
      ::open(aside.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(aside + ": cannot create the " + what + " (" + std::strerror(errno) +
                "); check that its folder exists and belongs to this user");
  }
  const bool written = ::write(fd, secret.data(), secret.size()) == ssize_t(secret.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  const int linked = written ? ::link(aside.c_str(), path.c_str()) : -1;
  const int err = errno;
  ::unlink(aside.c_str());
  if (!written || (linked != 0 && err != EEXIST)) {
    throw Error(path + ": cannot store the " + what + " (" + std::strerror(err) + ")");
  }
}

}  // namespace

void refuse_unless_private(const struct stat& st, const std::string& path, const std::string& what,
                           const char* mode, const std::string& config_key) {
  if (st.st_uid != ::geteuid()) {
    throw Error(path + ": the " + what + " belongs to uid " + std::to_string(st.st_uid) +
                ", not to this process's uid " + std::to_string(::geteuid()) +
                "; whoever owns it can read or change it. If it is yours: chown " +
                std::to_string(::geteuid()) + " '" + path + "'; otherwise point " + config_key +
                " elsewhere");
  }
  if ((st.st_mode & 077) != 0) {
    throw Error(path + ": the " + what + " is open to group or others (mode " +
                octal_mode(st.st_mode) + "); fix: chmod " + mode + " '" + path + "'");
  }
}

void refuse_replaceable_parent(const std::string& path) {
  const std::string parent = std::filesystem::path(path).parent_path().string();
  struct stat st {};
  if (parent.empty() || ::stat(parent.c_str(), &st) != 0) return;  // the open that follows reports
  if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
    throw Error(path + ": its folder " + parent + " is writable by group or others without the "
                "sticky bit (mode " + octal_mode(st.st_mode) + "), so another user could replace "
                "it; fix: chmod go-w '" + parent + "', or move it to a folder only this user "
                "writes");
  }
}

std::string read_or_create_secret_key(const std::string& path, const std::string& what,
                                      const std::string& config_key) {
  refuse_replaceable_parent(path);
  const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  OpenFile f{::open(path.c_str(), flags)};
  if (f.fd < 0 && errno == ENOENT) {
    create_secret(path, what);
    f.fd = ::open(path.c_str(), flags);
  }
  if (f.fd < 0) {
    if (errno == ELOOP) {
      throw Error(path + ": the " + what + " is a symbolic link; refused, since whoever controls "
                  "the link controls the key. Replace the link by the key file itself (mode 600), "
                  "or point " + config_key + " at the real file");
    }
    throw Error(path + ": cannot open the " + what + " (" + std::strerror(errno) + ")");
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(path + ": the " + what + " is not a regular file; point " + config_key +
                " at the key file");
  }
  refuse_unless_private(st, path, what, "600", config_key);
  std::string secret;
  char buf[4096];
  for (ssize_t n; (n = ::read(f.fd, buf, sizeof buf)) != 0;) {
    if (n < 0) throw Error(path + ": cannot read the " + what);
    secret.append(buf, std::size_t(n));
  }
  return secret;
}

std::string read_private_credential(const std::string& path, const std::string& what,
                                    const std::string& config_key) {
  OpenFile f{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (f.fd < 0) {
    throw ConfigError(config_key + ": cannot open " + path + " (" + what +
                      "): create it with the secret on one line, mode 0600, not a link");
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw ConfigError(config_key + ": cannot read " + path);
  if (!S_ISREG(st.st_mode)) throw ConfigError(config_key + ": " + path + " is not a regular file");
  try {
    refuse_unless_private(st, path, what, "600", config_key);
  } catch (const Error& e) {
    throw ConfigError(config_key + ": " + e.what());
  }
  std::string value;
  char buf[4096];
  for (ssize_t n; (n = ::read(f.fd, buf, sizeof buf)) != 0;) {
    if (n < 0) throw ConfigError(config_key + ": cannot read " + path);
    value.append(buf, std::size_t(n));
    if (value.size() > (1u << 16)) throw ConfigError(config_key + ": " + path + " is too long for a " + what);
  }
  while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
  std::size_t start = 0;
  while (start < value.size() && std::isspace(static_cast<unsigned char>(value[start]))) ++start;
  value = value.substr(start);
  if (value.empty()) {
    throw ConfigError(config_key + ": " + path + " is empty; put the " + what + " in it");
  }
  return value;
}

}  // namespace fedxray

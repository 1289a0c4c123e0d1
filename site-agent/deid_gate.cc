#include "site-agent/deid_gate.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "site-agent/csv_manifest.h"
#include "site-agent/dicom_file.h"

namespace fedxray {
namespace fs = std::filesystem;
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

std::string home_folder() {
  const char* home = std::getenv("HOME");
  if (home && *home) return home;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* found = nullptr;
  if (::getpwuid_r(::geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found &&
      found->pw_dir && *found->pw_dir) {
    return found->pw_dir;
  }
  return "";
}

std::string default_cache_folder() {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg && *xdg == '/') return std::string(xdg) + "/fedxray/deid";  // relative: ignored (XDG)
  const std::string home = home_folder();
  if (home.empty()) {
    throw Error("no folder for the de-identification cache: XDG_CACHE_HOME and HOME are unset and "
                "the agent's user has no home folder; set data.deid_cache to a folder the agent "
                "owns");
  }
  return home + "/.cache/fedxray/deid";
}

// Refuses what another local user could read, or replace under us.
void refuse_unless_private(const struct stat& st, const std::string& path, const char* what,
                           const char* mode) {
  if (st.st_uid != ::geteuid()) {
    throw Error(path + ": the de-identification " + what + " belongs to uid " +
                std::to_string(st.st_uid) + ", not to the agent's uid " +
                std::to_string(::geteuid()) + "; whoever owns it can read the images or the key. "
                "If it is yours: chown " + std::to_string(::geteuid()) + " '" + path +
                "'; otherwise point data.deid_cache / data.deid_secret_file elsewhere");
  }
  if ((st.st_mode & 077) != 0) {
    throw Error(path + ": the de-identification " + what + " is open to group or others (mode " +
                octal_mode(st.st_mode) + "); fix: chmod " + mode + " '" + path + "'");
  }
}

// A folder where others may write, without the sticky bit, lets them swap what it holds.
void refuse_replaceable_parent(const std::string& path) {
  const std::string parent = fs::path(path).parent_path().string();
  struct stat st {};
  if (parent.empty() || ::stat(parent.c_str(), &st) != 0) return;  // the open that follows reports
  if ((st.st_mode & 022) != 0 && (st.st_mode & S_ISVTX) == 0) {
    throw Error(path + ": its folder " + parent + " is writable by group or others without the "
                "sticky bit (mode " + octal_mode(st.st_mode) + "), so another user could replace "
                "it; fix: chmod go-w '" + parent + "', or move it to a folder only the agent "
                "writes");
  }
}

// mkdir -p with 0700 for every folder it creates.
void make_folders(const fs::path& path) {
  struct stat st {};
  if (path.empty() || ::lstat(path.c_str(), &st) == 0) return;
  make_folders(path.parent_path());
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error(path.string() + ": cannot create the de-identification cache folder (" +
                std::strerror(errno) + "); create it with mkdir -m 700, or set data.deid_cache to "
                "a folder the agent owns");
  }
}

void prepare_cache_folder(const std::string& path) {
  make_folders(path);
  refuse_replaceable_parent(path);
  const OpenFile f{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (f.fd < 0) {
    const int err = errno;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      throw Error(path + ": the de-identification cache folder is a symbolic link; refused, since "
                  "whoever controls the link controls where the images go. Set data.deid_cache "
                  "to the real folder");
    }
    throw Error(path + ": cannot open the de-identification cache folder (" + std::strerror(err) +
                "); set data.deid_cache to a folder the agent owns");
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    throw Error(path + ": cannot stat the de-identification cache folder");
  }
  refuse_unless_private(st, path, "cache folder", "700");
}

// 32 random bytes written aside (0600, O_EXCL), then linked into place: link() never replaces a
// key that another agent (or thread) created meanwhile, so every user of the cache keeps one.
void create_secret(const std::string& path) {
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1) {
    throw Error("cannot create the de-identification secret: OpenSSL's random generator failed");
  }
  const std::string aside =
      path + ".new-" + std::to_string(::getpid()) + "-" +
      std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  const int fd =
      ::open(aside.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    throw Error(aside + ": cannot create the de-identification key (" + std::strerror(errno) +
                "); check that its folder exists and belongs to the agent");
  }
  const bool written = ::write(fd, secret.data(), secret.size()) == ssize_t(secret.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  const int linked = written ? ::link(aside.c_str(), path.c_str()) : -1;
  const int err = errno;
  ::unlink(aside.c_str());
  if (!written || (linked != 0 && err != EEXIST)) {
    throw Error(path + ": cannot store the de-identification key (" + std::strerror(err) + ")");
  }
}

std::string read_secret(const std::string& path) {
  refuse_replaceable_parent(path);
  const int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  OpenFile f{::open(path.c_str(), flags)};
  if (f.fd < 0 && errno == ENOENT) {
    create_secret(path);
    f.fd = ::open(path.c_str(), flags);
  }
  if (f.fd < 0) {
    if (errno == ELOOP) {
      throw Error(path + ": the de-identification key is a symbolic link; refused, since whoever "
                  "controls the link controls the pseudonyms. Replace the link by the key file "
                  "itself (mode 600), or point data.deid_secret_file at the real file");
    }
    throw Error(path + ": cannot open the de-identification key (" + std::strerror(errno) + ")");
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    throw Error(path + ": the de-identification key is not a regular file; point "
                "data.deid_secret_file at the key file");
  }
  refuse_unless_private(st, path, "key", "600");
  std::string secret;
  char buf[4096];
  for (ssize_t n; (n = ::read(f.fd, buf, sizeof buf)) != 0;) {
    if (n < 0) throw Error(path + ": cannot read the de-identification key");
    secret.append(buf, std::size_t(n));
  }
  return secret;
}

}  // namespace

DeidGate::DeidGate(const DataSourceConfig& config) {
  fs::path cache = fs::absolute(config.deid_cache.empty() ? default_cache_folder()
                                                          : config.deid_cache).lexically_normal();
  if (!cache.has_filename()) cache = cache.parent_path();  // "deid/" is "deid"
  cache_ = cache.string();
  prepare_cache_folder(cache_);
  const std::string secret_file =
      config.deid_secret_file.empty() ? cache_ + "/site-secret.key" : config.deid_secret_file;
  options_.secret = read_secret(secret_file);
  if (options_.secret.size() < 16) {
    throw Error(secret_file + ": the de-identification secret is shorter than 16 bytes; delete it "
                "to have a new one made (pseudonyms will change) or restore it from backup");
  }
  options_.allow_burned_in_annotation = config.allow_burned_in_annotation;
}

std::string DeidGate::gate(const std::string& path, const std::string& row_label) {
  if (!looks_like_dicom(path)) return path;
  const std::string output =
      cache_ + "/" + pseudonymous_id(options_.secret, "file\n" + fs::absolute(path).string()) + ".dcm";
  nlohmann::json entry = {{"row", row_label}, {"copy", fs::path(output).filename().string()}};
  DeidRecord r;
  try {
    r = deidentify_dicom(path, output, options_);
  } catch (const Error& e) {
    entry["refused"] = "could not be de-identified";
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(entry);
    throw;
  }
  if (r.refused) {
    entry["refused"] = r.reason;
  } else {
    entry["removed"] = r.removed;
    entry["emptied"] = r.emptied;
    entry["pseudonymised"] = r.pseudonymised;
    entry["uids_replaced"] = r.replaced_uids;
    entry["private_attributes_removed"] = r.private_removed;
    entry["overlay_attributes_removed"] = r.overlays_removed;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    entries_.push_back(entry);
  }
  if (r.refused) throw Error("refused by the de-identification gate: " + r.reason);
  return output;
}

nlohmann::json DeidGate::report() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t refused = 0;
  for (const auto& e : entries_) refused += e.contains("refused");
  return {{"profile", "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile, "
                      "allow-list (privacy/confidentiality_profile.h)"},
          {"files", entries_.size()}, {"refused", refused}, {"entries", entries_}};
}

std::string DeidGate::write_report() const {
  const std::string path = cache_ + "/deid-report.json";
  write_file_atomically(path, report().dump(2) + "\n", 0600);
  return path;
}

nlohmann::json deid_report_for(const DataSourceConfig& config) {
  if (config.source != "image_folder") {
    throw Error("a de-identification report needs data.source: image_folder (got " + config.source + ")");
  }
  const CsvManifest manifest = CsvManifest::load(config.manifest);
  const std::size_t image_col = manifest.column(config.image_column, "data.image_column");
  const fs::path base = fs::path(config.manifest).parent_path();
  DeidGate gate(config);
  for (std::size_t r = 0; r < manifest.rows(); ++r) {
    const fs::path path = base / manifest.cell(r, image_col);
    if (!fs::exists(path)) continue;
    try {
      gate.gate(path.string(), "line " + std::to_string(manifest.line(r)));
    } catch (const Error&) {
      // refused or unreadable: already in the report
    }
  }
  gate.write_report();
  return gate.report();
}

}  // namespace fedxray

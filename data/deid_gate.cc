#include "data/deid_gate.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/private_file.h"
#include "data/csv_manifest.h"
#include "data/dicom_file.h"

namespace fedxray {
namespace fs = std::filesystem;
namespace {

struct OpenFile {
  int fd;
  ~OpenFile() {
    if (fd >= 0) ::close(fd);
  }
};

constexpr const char* kDeidSettings = "data.deid_cache / data.deid_secret_file";

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

// mkdir -p with 0700 for every folder it creates.
void make_folders(const fs::path& path) {
  struct stat st {};
  if (path.empty() || ::lstat(path.c_str(), &st) == 0) return;
  make_folders(path.parent_path());
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw Error(path.string() + ": cannot create the folder (" + std::strerror(errno) +
                "); create it with mkdir -m 700, or set data.deid_cache (data.pacs.cache) to a "
                "folder the agent owns");
  }
}

}  // namespace

void prepare_private_folder(const std::string& path, const std::string& what,
                            const std::string& config_key) {
  make_folders(path);
  refuse_replaceable_parent(path);
  const OpenFile f{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (f.fd < 0) {
    const int err = errno;
    struct stat st {};
    if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      throw Error(path + ": the " + what + " is a symbolic link; refused, since whoever controls "
                  "the link controls where the images go. Set " + config_key + " to the real folder");
    }
    throw Error(path + ": cannot open the " + what + " (" + std::strerror(err) + "); set " +
                config_key + " to a folder the agent owns");
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw Error(path + ": cannot stat the " + what);
  refuse_unless_private(st, path, what, "700", config_key);
}

DeidGate::DeidGate(const DataSourceConfig& config) {
  fs::path cache = fs::absolute(config.deid_cache.empty() ? default_cache_folder()
                                                          : config.deid_cache).lexically_normal();
  if (!cache.has_filename()) cache = cache.parent_path();  // "deid/" is "deid"
  cache_ = cache.string();
  prepare_private_folder(cache_, "de-identification cache folder", kDeidSettings);
  const std::string secret_file =
      config.deid_secret_file.empty() ? cache_ + "/site-secret.key" : config.deid_secret_file;
  options_.secret =
      read_or_create_secret_key(secret_file, "de-identification key", "data.deid_secret_file");
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
                      "allow-list (privacy/deid/confidentiality_profile.h)"},
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
  DeidGate gate(config);
  for (std::size_t r = 0; r < manifest.rows(); ++r) {
    fs::path path;
    try {
      path = manifest_image_path(config.manifest, manifest.cell(r, image_col),
                                 config.allow_paths_outside_manifest_folder);
    } catch (const Error&) {
      continue;  // the same rows the data source skips
    }
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

#include "site-agent/deid_gate.h"

#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <thread>

#include "common/atomic_file.h"
#include "common/error.h"
#include "site-agent/csv_manifest.h"
#include "site-agent/dicom_file.h"

namespace fedxray {
namespace fs = std::filesystem;

DeidGate::DeidGate(const DataSourceConfig& config) {
  cache_ = config.deid_cache.empty()
               ? (fs::temp_directory_path() / ("fedxray-deid-" + std::to_string(::getuid()))).string()
               : config.deid_cache;
  fs::create_directories(cache_);
  ::chmod(cache_.c_str(), 0700);
  const std::string secret_file =
      config.deid_secret_file.empty() ? cache_ + "/site-secret.key" : config.deid_secret_file;
  if (!fs::exists(secret_file)) {
    std::string secret(32, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), 32) != 1) {
      throw Error("cannot create the de-identification secret: OpenSSL's random generator failed");
    }
    // Written aside, then linked into place: link() never replaces a secret that another
    // agent (or thread) created meanwhile, so every user of the cache keeps the same one.
    const std::string aside = secret_file + ".new-" + std::to_string(::getpid()) + "-" +
                              std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
    write_file_atomically(aside, secret, 0600);
    std::error_code ec;
    fs::create_hard_link(aside, secret_file, ec);  // fails harmlessly when it exists by now
    fs::remove(aside);
  }
  options_.secret = read_file(secret_file);
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
  return {{"profile", "DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile"},
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

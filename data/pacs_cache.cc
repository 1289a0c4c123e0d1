#include "data/pacs_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "data/dicom_file.h"

namespace fedxray {
namespace fs = std::filesystem;
namespace {

nlohmann::json entry_to_json(const PacsCacheEntry& e) {
  nlohmann::json j = {{"sop", e.instance.sop_uid},
                      {"series", e.instance.series_uid},
                      {"study", e.instance.study.study_uid},
                      {"accession", e.instance.study.accession_number},
                      {"patient", e.patient}};
  if (e.quarantined) {
    j["quarantined"] = e.reason;
  } else {
    j["copy"] = e.copy;
    j["bytes"] = e.bytes;
  }
  return j;
}

PacsCacheEntry entry_from_json(const nlohmann::json& j) {
  PacsCacheEntry e;
  e.instance.sop_uid = j.at("sop").get<std::string>();
  e.instance.series_uid = j.at("series").get<std::string>();
  e.instance.study.study_uid = j.at("study").get<std::string>();
  e.instance.study.accession_number = j.at("accession").get<std::string>();
  e.patient = j.at("patient").get<std::string>();
  if (j.contains("quarantined")) {
    e.quarantined = true;
    e.reason = j.at("quarantined").get<std::string>();
  } else {
    e.copy = j.at("copy").get<std::string>();
    e.bytes = j.at("bytes").get<int64_t>();
  }
  return e;
}

// The message without a leading "<path>: " naming one of our own files.
std::string without_path(std::string why, const std::vector<std::string>& paths) {
  for (const auto& p : paths) {
    if (!p.empty() && why.rfind(p + ": ", 0) == 0) why = why.substr(p.size() + 2);
  }
  return why;
}

// The cache's lock, held while one process writes it; -1 when another process holds it.
class CacheLock {
 public:
  explicit CacheLock(const std::string& folder) {
    const std::string path = folder + "/lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd_ < 0)
      throw Error(path + ": cannot open the PACS cache lock (" + std::strerror(errno) + ")");
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~CacheLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  CacheLock(const CacheLock&) = delete;
  CacheLock& operator=(const CacheLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Whose images these are, for the split: the Patient ID from the query, else from the retrieved
// file itself (before de-identification), else the study (its images at least stay together).
std::string patient_key(const PacsInstance& instance, const std::string& raw) {
  if (!instance.study.patient_id.empty()) return instance.study.patient_id;
  DcmFileFormat file;
  OFString id;
  if (file.loadFile(raw.c_str(), EXS_Unknown, EGL_noChange, 4096).good() &&
      file.getDataset()->findAndGetOFString(DCM_PatientID, id).good() && !id.empty()) {
    return id.c_str();
  }
  return "study\n" + instance.study.study_uid;
}

}  // namespace

nlohmann::json PacsSyncReport::to_json() const {
  nlohmann::json j = {{"studies_found", studies_found},
                      {"studies_with_labels", studies_wanted},
                      {"instances_found", instances_found},
                      {"already_cached", already_cached},
                      {"fetched", fetched},
                      {"quarantined", quarantined},
                      {"failed", failed},
                      {"left_out_cache_full", left_out_cache_full},
                      {"bytes_retrieved", bytes_retrieved},
                      {"seconds", seconds}};
  if (!stopped.empty()) j["stopped"] = stopped;
  return j;
}

PacsCache::PacsCache(const DataSourceConfig& config) : config_(config.pacs) {
  gate_ = std::make_unique<DeidGate>(config);
  folder_ = config_.cache.empty() ? gate_->cache_dir() + "/pacs"
                                  : fs::absolute(config_.cache).lexically_normal().string();
  prepare_private_folder(folder_, "PACS cache folder", "data.pacs.cache");
  for (const char* sub : {"/incoming", "/quarantine"}) {
    prepare_private_folder(folder_ + sub, "PACS cache folder", "data.pacs.cache");
  }
  // Unless another process is syncing now (then it owns what is half-done):
  const CacheLock lock(folder_);
  if (lock.held()) {
    // What a killed sync left half-done was never recorded: it is fetched again.
    for (const auto& leftover : fs::directory_iterator(folder_ + "/incoming")) {
      fs::remove_all(leftover.path());
    }
  }
  load_journal(lock.held());
}

void PacsCache::load_journal(bool repair) {
  by_sop_.clear();
  order_.clear();
  bytes_ = 0;
  const std::string journal = folder_ + "/instances.jsonl";
  if (!fs::exists(journal)) return;
  std::string text = read_file(journal);
  const std::size_t complete = text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1;
  if (complete != text.size()) {
    text.resize(complete);
    if (repair) {
      // A kill (or a full disk) during the append left part of a line: that instance is
      // fetched again.
      spdlog::warn("{}: dropping an incomplete last record (the agent stopped while writing it)",
                   journal);
      fs::resize_file(journal, complete);
    }
  }
  std::size_t at = 0, line = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\n', at);
    ++line;
    try {
      PacsCacheEntry e = entry_from_json(nlohmann::json::parse(text.substr(at, end - at)));
      if (!e.quarantined && !fs::exists(e.copy)) {
        at = end + 1;
        continue;  // its copy was deleted (the de-identification cache was cleared): fetch again
      }
      const std::string sop = e.instance.sop_uid;
      if (by_sop_.count(sop) == 0) order_.push_back(sop);
      by_sop_[sop] = std::move(e);
    } catch (const std::exception& e) {
      throw Error(journal + ":" + std::to_string(line) + ": unreadable record (" + e.what() +
                  "); move the PACS cache aside to have it rebuilt from the PACS");
    }
    at = end + 1;
  }
  for (const auto& [sop, e] : by_sop_) bytes_ += e.bytes;
}

PacsCache::~PacsCache() = default;

void PacsCache::record(const PacsCacheEntry& entry) {
  const std::string journal = folder_ + "/instances.jsonl";
  // A PACS may send attribute values that are not UTF-8: replaced, never an exception.
  const std::string line =
      entry_to_json(entry).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  const int fd =
      ::open(journal.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) throw Error(journal + ": cannot append (" + std::strerror(errno) + ")");
  struct stat before {};
  const bool sized = ::fstat(fd, &before) == 0;
  const bool ok =
      sized && ::write(fd, line.data(), line.size()) == ssize_t(line.size()) && ::fsync(fd) == 0;
  const int err = errno;
  if (!ok && sized) {
    // Never leave part of a line behind for the next record to be appended to.
    if (::ftruncate(fd, before.st_size) == 0) ::fsync(fd);
  }
  ::close(fd);
  if (!ok) throw Error(journal + ": cannot append (" + std::strerror(err) + "); is the disk full?");
  if (by_sop_.count(entry.instance.sop_uid) == 0) order_.push_back(entry.instance.sop_uid);
  bytes_ += entry.bytes;
  by_sop_[entry.instance.sop_uid] = entry;
}

template <typename Call>
auto with_retries(const PacsConfig& config, const std::string& what, Call call)
    -> decltype(call()) {
  for (int attempt = 1;; ++attempt) {
    try {
      return call();
    } catch (const PacsUnavailable& e) {
      if (attempt >= config.retries) throw;
      const double wait =
          std::min(30.0, config.retry_seconds * double(1 << std::min(attempt - 1, 10)));
      spdlog::warn("PACS {} failed (try {} of {}), again in {:.1f} s: {}", what, attempt,
                   config.retries, wait, e.what());
      std::this_thread::sleep_for(std::chrono::duration<double>(wait));
    }
  }
}

bool PacsCache::fetch_one(PacsArchive& archive, const PacsInstance& instance,
                          PacsSyncReport& report) {
  const std::string key = gate_->pseudonym("sop\n" + instance.sop_uid);
  const std::string raw = folder_ + "/incoming/" + key + ".dcm";
  std::error_code ignored;
  try {
    with_retries(config_, "retrieve", [&] { archive.retrieve(instance, raw); });
  } catch (const std::exception& e) {
    fs::remove(raw, ignored);
    ++report.failed;
    spdlog::warn("PACS: an instance could not be retrieved (tried again next sync): {}", e.what());
    return dynamic_cast<const PacsUnavailable*>(&e) == nullptr;
  }
  const auto raw_size = fs::file_size(raw, ignored);
  report.bytes_retrieved += ignored ? 0 : int64_t(raw_size);
  PacsCacheEntry entry;
  entry.instance = instance;
  entry.patient = gate_->pseudonym(patient_key(instance, raw));
  // What is wrong with the instance itself quarantines it; a local failure (a full disk) is
  // not the instance's fault: nothing is recorded, and the sync stops.
  std::string copy, problem;
  try {
    if (!looks_like_dicom(raw)) {
      problem = "the PACS sent something that is not a DICOM file";
    } else {
      try {
        copy = gate_->gate(raw, "PACS instance " + key);
      } catch (const Error& e) {
        const std::string why = e.what();
        if (why.find("refused by the de-identification gate") == std::string::npos &&
            why.find("not readable as DICOM") == std::string::npos) {
          throw;
        }
        problem = why;
      }
      if (problem.empty()) {
        try {
          decode_dicom(copy);  // what will not decode is caught now, not in the middle of a job
        } catch (const Error& e) {
          problem = e.what();
          fs::remove(copy, ignored);
        }
      }
    }
  } catch (const std::exception& e) {
    fs::remove(raw, ignored);
    if (!copy.empty()) fs::remove(copy, ignored);
    ++report.failed;
    throw Error(folder_ + ": the PACS sync stopped on a local problem (" + std::string(e.what()) +
                "); fix it (disk space, permissions) and sync again");
  }
  if (problem.empty()) {
    entry.copy = copy;
    entry.bytes = int64_t(fs::file_size(copy, ignored));
    fs::remove(raw, ignored);
    ++report.fetched;
  } else {
    entry.quarantined = true;
    entry.reason = without_path(problem, {raw, copy});
    entry.bytes = ignored ? 0 : int64_t(raw_size);  // quarantined files count against the bound
    fs::rename(raw, folder_ + "/quarantine/" + key + ".dcm", ignored);
    ++report.quarantined;
    spdlog::warn("PACS: instance quarantined as {}/quarantine/{}.dcm: {}", folder_, key,
                 entry.reason);
  }
  record(entry);
  return true;
}

PacsSyncReport PacsCache::sync(PacsArchive& archive, const PacsQuery& query,
                               const std::function<bool(const PacsStudy&)>& wanted) {
  const auto start = std::chrono::steady_clock::now();
  const CacheLock lock(folder_);
  if (!lock.held()) {
    throw Error(folder_ +
                ": another fedxray process is syncing this PACS cache; wait for it to "
                "finish, or give each agent its own data.pacs.cache");
  }
  // What another process (a --pacs-sync from cron) recorded since this cache was opened.
  load_journal(true);
  PacsSyncReport report;
  const int64_t max_bytes = config_.cache_max_mb << 20;
  // One instance or study the PACS fails on is skipped (tried again next sync); this many in a
  // row, each after its retries, and the PACS counts as unreachable.
  constexpr int kFailuresInARow = 3;
  int in_a_row = 0;
  auto unavailable = [&](const std::string& what) {
    if (++in_a_row < kFailuresInARow) return;
    throw PacsUnavailable(what);
  };
  try {
    const std::vector<PacsStudy> studies =
        with_retries(config_, "study query", [&] { return archive.find_studies(query); });
    report.studies_found = studies.size();
    for (const PacsStudy& study : studies) {
      if (!wanted(study)) continue;
      ++report.studies_wanted;
      std::vector<PacsInstance> instances;
      try {
        instances = with_retries(config_, "instance query",
                                 [&] { return archive.find_instances(study, query); });
      } catch (const Error& e) {
        ++report.failed;
        spdlog::warn("PACS: a study's instances could not be listed (tried again next sync): {}",
                     e.what());
        if (dynamic_cast<const PacsUnavailable*>(&e)) unavailable(e.what());
        continue;
      }
      for (const PacsInstance& instance : instances) {
        ++report.instances_found;
        if (by_sop_.count(instance.sop_uid)) {
          ++report.already_cached;
        } else if (bytes_ >= max_bytes) {
          ++report.left_out_cache_full;
        } else if (fetch_one(archive, instance, report)) {
          in_a_row = 0;
        } else {
          unavailable(archive.describe() + ": " + std::to_string(kFailuresInARow) +
                      " instances in a row could not be retrieved");
        }
      }
    }
  } catch (const PacsUnavailable& e) {
    report.stopped = archive.describe() + " stayed unreachable after " +
                     std::to_string(config_.retries) + " tries (" + e.what() + ")";
  }
  if (report.left_out_cache_full > 0) {
    spdlog::warn("PACS cache {} is full ({} MiB, data.pacs.cache_max_mb): {} instances left out",
                 folder_, config_.cache_max_mb, report.left_out_cache_full);
  }
  // The gate's report covers what this process fetched; a sync with nothing new keeps the last one.
  if (gate_->report()["files"].get<std::size_t>() > 0) gate_->write_report();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::vector<PacsCacheEntry> PacsCache::entries() const {
  std::vector<PacsCacheEntry> out;
  for (const auto& sop : order_) out.push_back(by_sop_.at(sop));
  return out;
}

int64_t PacsCache::cached_bytes() const {
  return bytes_;
}

nlohmann::json PacsCache::status() const {
  std::size_t cached = 0, quarantined = 0;
  std::map<std::string, std::size_t> reasons;
  for (const auto& [sop, e] : by_sop_) {
    if (e.quarantined) {
      ++quarantined;
      ++reasons[e.reason];
    } else {
      ++cached;
    }
  }
  return {{"folder", folder_},
          {"instances", cached},
          {"bytes", bytes_},
          {"cache_max_mb", config_.cache_max_mb},
          {"quarantined", quarantined},
          {"quarantine_reasons", reasons}};
}

}  // namespace fedxray

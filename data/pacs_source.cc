#include "data/pacs_source.h"

#include <set>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "data/csv_manifest.h"
#include "data/dataset_partition.h"
#include "data/dicomweb_archive.h"
#include "data/dimse_archive.h"
#include "data/image_folder_source.h"

namespace fedxray {

// The labels file, indexed by its key column (accession_number or study_instance_uid).
struct PacsSource::LabelIndex {
  CsvManifest csv;
  bool by_accession = true;
  std::unordered_map<std::string, std::size_t> row_of;
  std::vector<std::size_t> label_cols;

  LabelIndex(const DataSourceConfig& config) : csv(CsvManifest::load(config.pacs.labels)) {
    std::string key = config.pacs.key_column;
    if (key.empty()) {
      if (csv.has_column("accession_number")) {
        key = "accession_number";
      } else if (csv.has_column("study_instance_uid")) {
        key = "study_instance_uid";
      } else {
        throw ConfigError(csv.path() +
                          ": the labels file needs a column accession_number or "
                          "study_instance_uid that joins each row to a study in the PACS "
                          "(data.pacs.key_column chooses when it has both)");
      }
    }
    by_accession = key == "accession_number";
    const std::size_t key_col = csv.column(key, "data.pacs.key_column");
    for (std::size_t r = 0; r < csv.rows(); ++r) {
      const std::string& k = csv.cell(r, key_col);
      if (k.empty()) continue;
      if (!row_of.emplace(k, r).second) {
        throw ConfigError(csv.path() + ":" + std::to_string(csv.line(r)) + ": " + key +
                          " is listed twice; give each study one row");
      }
    }
    if (config.label_columns.empty()) {
      label_cols.push_back(csv.column(config.label_column, "data.label_column"));
    } else {
      for (const auto& c : config.label_columns)
        label_cols.push_back(csv.column(c, "data.label_columns"));
    }
  }

  const std::string& key_of(const PacsStudy& s) const {
    return by_accession ? s.accession_number : s.study_uid;
  }
  bool has(const PacsStudy& s) const { return !key_of(s).empty() && row_of.count(key_of(s)) > 0; }
};

std::unique_ptr<PacsArchive> make_pacs_archive(const PacsConfig& config) {
  if (config.protocol == "dimse") return std::make_unique<DimseArchive>(config);
  return std::make_unique<DicomWebArchive>(config);
}

PacsSource::PacsSource(DataSourceConfig config)
    : config_(std::move(config)),
      cache_(std::make_unique<PacsCache>(config_)),
      archive_(make_pacs_archive(config_.pacs)) {
  LabelIndex check(config_);  // a labels file that cannot serve is an error now, not mid-job
}

PacsSource::~PacsSource() = default;

uint64_t PacsSource::size() const {
  const LabelIndex labels(config_);
  if (!synced_) {
    synced_ = true;
    try {
      const_cast<PacsSource*>(this)->sync(
          labels);  // NOLINT: a sync does not change what the source is
    } catch (const Error& e) {
      spdlog::warn("PACS sync failed, counting the cached images only: {}", e.what());
    }
  }
  return cached_size(labels);
}

uint64_t PacsSource::cached_size(const LabelIndex& labels) const {
  uint64_t n = 0;
  for (const auto& e : cache_->entries()) n += !e.quarantined && labels.has(e.instance.study);
  return n;
}

PacsSyncReport PacsSource::sync() {
  return sync(LabelIndex(config_));
}

PacsSyncReport PacsSource::sync(const LabelIndex& labels) {
  const PacsQuery query{config_.pacs.study_date, config_.pacs.modality, config_.pacs.body_part};
  PacsSyncReport report =
      cache_->sync(*archive_, query, [&](const PacsStudy& s) { return labels.has(s); });
  synced_ = true;
  spdlog::info(
      "{}: {} labelled studies of {} found, {} instances: {} fetched ({:.1f} MB), {} "
      "already cached, {} quarantined, {} failed, {} left out (cache full), {:.1f} s",
      archive_->describe(), report.studies_wanted, report.studies_found, report.instances_found,
      report.fetched, double(report.bytes_retrieved) / 1e6, report.already_cached,
      report.quarantined, report.failed, report.left_out_cache_full, report.seconds);
  if (!report.stopped.empty()) spdlog::warn("PACS sync stopped: {}", report.stopped);
  return report;
}

nlohmann::json PacsSource::status() {
  const LabelIndex labels(config_);
  nlohmann::json s = {
      {"archive", archive_->describe()},
      {"labels",
       {{"file", config_.pacs.labels},
        {"rows", labels.row_of.size()},
        {"key_column", labels.by_accession ? "accession_number" : "study_instance_uid"}}},
      {"cache", cache_->status()}};
  std::set<std::string> cached_studies;
  for (const auto& e : cache_->entries()) cached_studies.insert(e.instance.study.study_uid);
  try {
    archive_->ping();
    const PacsQuery query{config_.pacs.study_date, config_.pacs.modality, config_.pacs.body_part};
    std::size_t found = 0, labelled = 0, not_cached = 0;
    for (const PacsStudy& study : archive_->find_studies(query)) {
      ++found;
      if (!labels.has(study)) continue;
      ++labelled;
      not_cached += cached_studies.count(study.study_uid) == 0;
    }
    s["reachable"] = true;
    s["studies_found"] = found;
    s["studies_with_labels"] = labelled;
    s["studies_with_labels_not_cached"] = not_cached;
  } catch (const Error& e) {
    s["reachable"] = false;
    s["error"] = e.what();
  }
  return s;
}

std::string PacsSource::write_manifest() {
  return write_manifest(LabelIndex(config_));
}

std::string PacsSource::write_manifest(const LabelIndex& labels) {
  std::string text = "filename";
  for (std::size_t c : labels.label_cols) text += "," + csv_field(labels.csv.header()[c]);
  text += ",patient\n";
  for (const auto& e : cache_->entries()) {
    if (e.quarantined || !labels.has(e.instance.study)) continue;
    const std::size_t row = labels.row_of.at(labels.key_of(e.instance.study));
    text += csv_field(e.copy);
    for (std::size_t c : labels.label_cols) text += "," + csv_field(labels.csv.cell(row, c));
    text += "," + e.patient + "\n";
  }
  const std::string path = cache_->folder() + "/manifest.csv";
  write_file_atomically(path, text, 0600);
  return path;
}

ImagePool PacsSource::load_pool(int classes, int image_size) {
  const LabelIndex labels(config_);  // read once for the sync, the count and the manifest
  PacsSyncReport report;
  try {
    report = sync(labels);
  } catch (const Error& e) {
    // Refused credentials, TLS, a local problem, another process syncing: the job can still run
    // on what is cached. The details stay in this log.
    spdlog::warn("PACS sync failed: {}", e.what());
    report.stopped = "the sync failed";
  }
  const uint64_t usable = cached_size(labels);
  if (usable == 0) {
    // Counts only: the reason reaches the coordinator.
    if (!report.stopped.empty()) {
      throw ShareableError(
          "the site's PACS could not be read and no image is cached yet; the site refuses the "
          "job (details in the site's log)");
    }
    throw ShareableError("none of the " + std::to_string(report.instances_found) +
                         " PACS instances of labelled studies is usable (" +
                         std::to_string(report.quarantined) + " quarantined, " +
                         std::to_string(report.failed) + " failed); the site refuses the job");
  }
  if (!report.stopped.empty()) {
    spdlog::warn("the PACS sync did not finish: this job uses the {} instances cached", usable);
  }
  DataSourceConfig folder = config_;
  folder.source = "image_folder";
  folder.manifest = write_manifest(labels);
  folder.image_column = "filename";
  folder.patient_column = "patient";
  folder.mask_column.clear();
  folder.allow_paths_outside_manifest_folder = true;  // the copies live in the de-id cache
  folder.files_already_deidentified = true;           // the cache gated them when fetched
  ImageFolderSource images(folder);
  return images.load_pool(classes, image_size);
}

TrainHeldOut PacsSource::load(int classes, int image_size) {
  ImagePool pool = load_pool(classes, image_size);
  return split_held_out_by_group(pool.images, pool.patients, config_.held_out_fraction,
                                 config_.seed);
}

}  // namespace fedxray

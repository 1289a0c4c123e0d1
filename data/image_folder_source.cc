#include "data/image_folder_source.h"

#include <algorithm>
#include <cctype>
#include <atomic>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "data/csv_manifest.h"
#include "data/deid_gate.h"
#include "data/image_file.h"
#include "data/segmentation_mask.h"

namespace fedxray {
namespace fs = std::filesystem;

namespace {

void refuse_identifying_columns(const CsvManifest& manifest, const DataSourceConfig& config) {
  // Only a pseudonymous patient key may identify a patient in a manifest.
  static const char* kIdentifying[] = {"name", "birth", "dob", "address", "phone", "email",
                                       "mrn", "ssn", "accession", "insurance", "kana", "kanji"};
  for (const auto& column : manifest.header()) {
    std::string lower;
    for (char c : column) lower.push_back(char(std::tolower(static_cast<unsigned char>(c))));
    if (lower == "filename" || column == config.image_column) continue;
    // A file name column ("source_filename") names a file, not a patient.
    auto ends_with = [&](const std::string& tail) {
      return lower.size() >= tail.size() && lower.compare(lower.size() - tail.size(), tail.size(), tail) == 0;
    };
    const bool file_name = ends_with("filename") || ends_with("file_name");
    for (const char* word : kIdentifying) {
      if (file_name && std::string(word) == "name") continue;
      if (lower.find(word) != std::string::npos) {
        throw ShareableError("the manifest has a column '" + column +
                             "' that looks like a patient identifier; a manifest may carry only a "
                             "pseudonymous patient key (data.patient_column): remove the column");
      }
    }
  }
}

// The integer class of a row; throws naming the value when it is not one of the job's classes.
int64_t class_label(const std::string& text, int classes, const std::vector<std::string>& names) {
  if (!names.empty()) {
    for (std::size_t k = 0; k < names.size(); ++k) {
      if (names[k] == text) return int64_t(k);
    }
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw Error("label \"" + text + "\" is not one of data.class_names (" + known + ")");
  }
  std::size_t used = 0;
  long long label = -1;
  try {
    label = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || label < 0 || label >= classes) {
    throw Error("label \"" + text + "\" is not a class of this job (0.." +
                std::to_string(classes - 1) + ")");
  }
  return label;
}

// The bit set of a row's findings (wire/label_task.h); each column must hold 0 or 1.
int64_t finding_bits(const CsvManifest& manifest, std::size_t row,
                     const std::vector<std::size_t>& columns) {
  int64_t bits = 0;
  for (std::size_t k = 0; k < columns.size(); ++k) {
    const std::string& cell = manifest.cell(row, columns[k]);
    if (cell == "1") {
      bits |= int64_t(1) << k;
    } else if (cell != "0") {
      throw Error("finding column '" + manifest.header()[columns[k]] + "' holds \"" + cell +
                  "\"; it must be 0 or 1");
    }
  }
  return bits;
}

// A row's mask, resized to the job's image size; throws naming what is wrong with it.
std::vector<uint8_t> read_mask(const CsvManifest& manifest, std::size_t row, std::size_t column,
                               int classes, int image_size, bool allow_outside) {
  const std::string& file = manifest.cell(row, column);
  if (file.empty()) throw Error("no mask (data.mask_column is empty on this row)");
  const std::filesystem::path path = manifest_image_path(manifest.path(), file, allow_outside);
  if (!std::filesystem::exists(path)) throw Error("mask " + file + " not found");
  if (path.extension() == ".dcm") {
    throw Error("mask " + file + ": DICOM SEG masks are not read yet; export the mask as PNG");
  }
  try {
    return resize_mask(decode_image_file(path.string()), classes, image_size);
  } catch (const Error& e) {
    throw Error("mask " + file + ": " + e.what());
  }
}

}  // namespace

ImageFolderSource::ImageFolderSource(DataSourceConfig config) : config_(std::move(config)) {
  rows_ = CsvManifest::load(config_.manifest).rows();
}

TrainHeldOut ImageFolderSource::load(int classes, int image_size) {
  ImagePool pool = load_pool(classes, image_size);
  // Without a patient column each row is its own patient, so this is a per-image split.
  return split_held_out_by_group(pool.images, pool.patients, config_.held_out_fraction, config_.seed);
}

ImagePool ImageFolderSource::load_pool(int classes, int image_size) {
  const CsvManifest manifest = CsvManifest::load(config_.manifest);
  const std::size_t image_col = manifest.column(config_.image_column, "data.image_column");
  const bool multilabel = !config_.label_columns.empty();
  std::vector<std::size_t> finding_cols;
  for (const auto& name : config_.label_columns) {
    finding_cols.push_back(manifest.column(name, "data.label_columns"));
  }
  if (multilabel && int(finding_cols.size()) != classes) {
    throw ShareableError("the job has " + std::to_string(classes) + " findings but the site's "
                         "data.label_columns lists " + std::to_string(finding_cols.size()) +
                         "; list one 0/1 column per finding of the job, in its order");
  }
  const bool segmentation = !config_.mask_column.empty();
  const std::size_t mask_col =
      segmentation ? manifest.column(config_.mask_column, "data.mask_column") : 0;
  if (!config_.class_names.empty() && int(config_.class_names.size()) != classes) {
    throw ShareableError("the job has " + std::to_string(classes) + " classes but the site's "
                         "data.class_names lists " + std::to_string(config_.class_names.size()) +
                         "; name every class of the job, in its order");
  }
  const std::size_t label_col = multilabel || segmentation
                                    ? 0
                                    : manifest.column(config_.label_column, "data.label_column");
  const bool by_patient = !config_.patient_column.empty();
  const std::size_t patient_col =
      by_patient ? manifest.column(config_.patient_column, "data.patient_column") : 0;
  const fs::path base = fs::path(config_.manifest).parent_path();
  const std::size_t n = manifest.rows();
  refuse_identifying_columns(manifest, config_);
  DeidGate gate(config_);

  std::vector<std::vector<float>> decoded(n);
  std::vector<std::vector<uint8_t>> masks(n);
  std::vector<int64_t> labels(n, -1);
  std::vector<std::string> problems(n);
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t r = next++; r < n; r = next++) {
      const std::string& file = manifest.cell(r, image_col);
      std::string usable;  // the file decoded: the de-identified copy for DICOM
      try {
        int64_t label = 0;
        if (segmentation) {
          masks[r] = read_mask(manifest, r, mask_col, classes, image_size,
                               config_.allow_paths_outside_manifest_folder);
        } else {
          label = multilabel ? finding_bits(manifest, r, finding_cols)
                             : class_label(manifest.cell(r, label_col), classes, config_.class_names);
        }
        const fs::path path = manifest_image_path(
            config_.manifest, file, config_.allow_paths_outside_manifest_folder);
        if (!fs::exists(path)) throw Error("file not found");
        usable = config_.files_already_deidentified
                     ? path.string()
                     : gate.gate(path.string(), "line " + std::to_string(manifest.line(r)));
        decoded[r] = resize_square(decode_image_file(usable), image_size);
        labels[r] = label;
      } catch (const std::exception& e) {
        std::string why = e.what();
        for (const std::string& named : {(base / file).string(), usable}) {
          if (!named.empty() && why.rfind(named + ": ", 0) == 0) why = why.substr(named.size() + 2);
        }
        problems[r] = manifest.path() + ":" + std::to_string(manifest.line(r)) + ": " + file + ": " + why;
      }
    }
  };
  const unsigned threads = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
  std::vector<std::thread> decoders;
  for (unsigned t = 0; t < threads; ++t) decoders.emplace_back(worker);
  for (auto& t : decoders) t.join();

  ImagePool pool;
  ImageSet& all = pool.images;
  all.image_size = image_size;
  std::vector<std::string>& patients = pool.patients;
  skipped_.clear();
  origins_.clear();
  for (std::size_t r = 0; r < n; ++r) {
    if (!problems[r].empty()) {
      skipped_.push_back(problems[r]);
      continue;
    }
    all.pixels.insert(all.pixels.end(), decoded[r].begin(), decoded[r].end());
    all.labels.push_back(labels[r]);
    origins_.push_back(manifest.path() + ":" + std::to_string(manifest.line(r)) + ": " +
                       manifest.cell(r, image_col));
    all.masks.insert(all.masks.end(), masks[r].begin(), masks[r].end());
    patients.push_back(by_patient ? manifest.cell(r, patient_col) : "row-" + std::to_string(r));
  }
  for (std::size_t i = 0; i < skipped_.size() && i < 20; ++i) spdlog::warn("skipped {}", skipped_[i]);
  if (!skipped_.empty()) {
    spdlog::warn("{}: skipped {} of {} rows{}", manifest.path(), skipped_.size(), n,
                 skipped_.size() > 20 ? " (first 20 listed)" : "");
  }
  // (A pacs source's copies were gated, and reported, when fetched.)
  if (!config_.files_already_deidentified && gate.report()["files"].get<std::size_t>() > 0) {
    const std::string report = gate.write_report();
    spdlog::info("{}: de-identification report for {} DICOM files in {}", manifest.path(),
                 gate.report()["files"].get<std::size_t>(), report);
  }
  if (all.count() == 0) {
    // The details (file names, which may carry patient IDs) stay in this log; the reason that
    // goes to the coordinator has counts only.
    if (!skipped_.empty()) spdlog::error("first problem: {}", skipped_.front());
    throw ShareableError("none of the " + std::to_string(n) + " listed images is usable for this job (" +
                         std::to_string(skipped_.size()) +
                         " skipped; the reasons are in the site's log); the site refuses the job");
  }
  spdlog::info("{}: {} images loaded at {} px{}", manifest.path(), all.count(), image_size,
               by_patient ? ", split by " + config_.patient_column : "");
  return pool;
}

}  // namespace fedxray

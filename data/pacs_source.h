// PacsSource: a site's images straight from the hospital's PACS (`data.source: pacs`), over
// DICOMweb or DIMSE (data/pacs_archive.h), through the local cache of de-identified copies
// (data/pacs_cache.h).
//
// Every load() first syncs: it asks the PACS for the studies matching data.pacs.study_date /
// modality / body_part, keeps those the local labels file (data.pacs.labels) lists by accession
// number or Study Instance UID, and fetches only the instances not cached yet. Then it writes a
// manifest of the cached copies (de-identified file, label columns, pseudonymous patient) into
// the cache folder and loads it as an image folder (data/image_folder_source.h), split by
// patient. When the PACS cannot be reached, the job runs on what is cached, with a warning; with
// nothing cached it is refused. The labels file, the accession numbers and the UIDs stay at the
// site; what reaches the coordinator is the same as for any image folder (counts, refusals
// without identifiers).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "data/data_source.h"
#include "data/pacs_cache.h"

namespace fedxray {

class PacsSource : public DataSource {
 public:
  explicit PacsSource(DataSourceConfig config);
  ~PacsSource() override;

  // Cached instances with a label, after one sync when this process has not synced yet (so that
  // a new site joins with what its PACS holds, not with an empty cache).
  uint64_t size() const override;
  TrainHeldOut load(int classes, int image_size) override;
  ImagePool load_pool(int classes, int image_size) override;
  bool multilabel() const override { return !config_.label_columns.empty(); }

  // Fetches what is new (`fedxray site --pacs-sync`, and before every load).
  PacsSyncReport sync();
  // `fedxray site --pacs-status`: whether the PACS answers, how many labelled studies it has that
  // are not cached yet, and the cache's counts. No identifiers.
  nlohmann::json status();
  // The manifest written by the last load: filename (the copy), the label column(s), patient.
  std::string write_manifest();

 private:
  DataSourceConfig config_;
  std::unique_ptr<PacsCache> cache_;
  std::unique_ptr<PacsArchive> archive_;
  mutable bool synced_ = false;
  // The labels file, read once per public call and shared by what that call does.
  struct LabelIndex;
  PacsSyncReport sync(const LabelIndex& labels);
  uint64_t cached_size(const LabelIndex& labels) const;
  std::string write_manifest(const LabelIndex& labels);
};

// The archive data.pacs.protocol names.
std::unique_ptr<PacsArchive> make_pacs_archive(const PacsConfig& config);

}  // namespace fedxray

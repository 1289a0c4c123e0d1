// ImageFolderSource: a hospital's radiographs as PNG or JPEG files listed in a CSV manifest
// (`data.source: image_folder`).
//
// load() reads the manifest, decodes and resizes every listed image once, on all cores, and
// splits train / held-out — by patient when `patient_column` is set, so no patient is on both
// sides. A row whose file is missing or unreadable, or whose label is not an integer class of
// the job, is skipped and reported with the manifest line and the file; the site trains on the
// rest and logs how many it skipped. With no usable image left, load() throws and the site
// refuses the job with that reason.
//
// With `label_columns` set the source is multi-label: each image's label is the bit set of its
// 0/1 finding columns (wire/label_task.h), a row with another value there is skipped like a bad
// label, and a job whose `classes` differs from the number of columns is refused. With
// `mask_column` set it is a segmentation source: each row's mask file (data/segmentation_mask.h)
// is read and resized with its image, and a row without a usable mask is skipped the same way.
//
// Image paths are relative to the manifest's folder. A row whose path is absolute or has a `..`
// component is skipped like any other bad row, unless the site config sets
// `data.allow_paths_outside_manifest_folder: true` (a manifest should not be able to make the
// site read, and train on, files elsewhere on the machine).
#pragma once

#include <string>
#include <vector>

#include "data/data_source.h"

namespace fedxray {

class ImageFolderSource : public DataSource {
 public:
  explicit ImageFolderSource(DataSourceConfig config);
  uint64_t size() const override { return rows_; }
  TrainHeldOut load(int classes, int image_size) override;
  ImagePool load_pool(int classes, int image_size) override;
  bool multilabel() const override { return !config_.label_columns.empty(); }
  bool has_masks() const override { return !config_.mask_column.empty(); }
  // What the last load() skipped, one line each: "<manifest>:<line>: <file>: <reason>".
  const std::vector<std::string>& skipped() const { return skipped_; }
  // Where each image of the last load_pool() came from, in pool order: "<manifest>:<line>: <file>".
  const std::vector<std::string>& origins() const { return origins_; }

 private:
  DataSourceConfig config_;
  uint64_t rows_ = 0;
  std::vector<std::string> skipped_;
  std::vector<std::string> origins_;
};

}  // namespace fedxray

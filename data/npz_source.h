// NpzSource: images and labels from a NumPy .npz archive in the MedMNIST layout
// (`data.source: npz`): members <split>_images.npy, shape (N, H, W) or (N, H, W, C), and
// <split>_labels.npy, shape (N) or (N, 1).
//
// The archive's own splits are kept: `train_split` trains, `held_out_split` evaluates (empty:
// hold out `held_out_fraction` of the training split). Images are resized once to the job's
// size; colour becomes luminance. A label outside the job's classes skips that image, reported
// by member and index; with nothing usable, load() throws and the site refuses the job.
//
// The archive is read with NpzArchive (npz_archive.h): one member at a time, every declared size
// checked before allocating. An images member whose shape is not (N, H, W[, C]) with H and W in
// 1..65535 and C in 1..4, or whose label count differs, is an Error naming file and member.
#pragma once

#include <string>
#include <vector>

#include "data/data_source.h"

namespace fedxray {

class NpzArchive;

class NpzSource : public DataSource {
 public:
  explicit NpzSource(DataSourceConfig config);
  uint64_t size() const override { return images_; }
  TrainHeldOut load(int classes, int image_size) override;
  // Both splits together, each image its own patient (MedMNIST carries no patient key).
  ImagePool load_pool(int classes, int image_size) override;
  const std::vector<std::string>& skipped() const { return skipped_; }

 private:
  ImageSet read_split(const NpzArchive& archive, const std::string& split, int classes,
                      int image_size);

  DataSourceConfig config_;
  uint64_t images_ = 0;
  std::vector<std::string> skipped_;
};

}  // namespace fedxray

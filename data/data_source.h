// DataSource: where a site's images come from. The site agent asks for them once a job says
// which classes and image size it needs; a source prepares its train / held-out split for that.
//
// Contract: load() is deterministic for the same source and arguments (same seed, same split),
// throws fedxray::Error naming the file/field when the data cannot serve the job, and never
// returns an empty training set.
#pragma once

#include <cstdint>
#include <memory>

#include "config/site_config.h"
#include "data/image_set.h"

namespace fedxray {

class DataSource {
 public:
  virtual ~DataSource() = default;
  // Number of images the site holds (reported when it joins).
  virtual uint64_t size() const = 0;
  virtual TrainHeldOut load(int classes, int image_size) = 0;
  // All usable images with patient keys, unsplit (simulations partition this across sites).
  virtual ImagePool load_pool(int classes, int image_size) = 0;
  // True when each image carries several findings: labels are then bit sets of `classes`
  // findings (wire/label_task.h), for multi-label jobs only.
  virtual bool multilabel() const { return false; }
  // True when each image comes with a mask (segmentation jobs only).
  virtual bool has_masks() const { return false; }
};

// The offline generator (synthetic_radiographs.h) configured by a site's `data:` section.
class SyntheticDataSource : public DataSource {
 public:
  explicit SyntheticDataSource(DataSourceConfig config) : config_(std::move(config)) {}
  uint64_t size() const override { return uint64_t(config_.images); }
  TrainHeldOut load(int classes, int image_size) override;
  ImagePool load_pool(int classes, int image_size) override;

 private:
  DataSourceConfig config_;
};

// Images already in memory (a simulation's partition of a pool).
class InMemoryDataSource : public DataSource {
 public:
  explicit InMemoryDataSource(TrainHeldOut data, bool multilabel = false)
      : data_(std::move(data)), multilabel_(multilabel) {}
  bool multilabel() const override { return multilabel_; }
  bool has_masks() const override { return data_.train.has_masks(); }
  uint64_t size() const override { return data_.train.count() + data_.held_out.count(); }
  TrainHeldOut load(int classes, int image_size) override;
  ImagePool load_pool(int classes, int image_size) override;

 private:
  TrainHeldOut data_;
  bool multilabel_;
};

std::unique_ptr<DataSource> make_data_source(const DataSourceConfig& config);

}  // namespace fedxray

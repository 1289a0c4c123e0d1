#include "data/data_source.h"

#include <cstdint>

#include "base/error.h"
#include "data/image_folder_source.h"
#include "data/npz_source.h"
#include "data/pacs_source.h"
#include "data/synthetic_radiographs.h"

namespace fedxray {

TrainHeldOut SyntheticDataSource::load(int classes, int image_size) {
  SyntheticSpec spec{config_.images, classes, image_size, config_.seed, config_.intensity_shift};
  return split_held_out(generate_synthetic_radiographs(spec), config_.held_out_fraction,
                        config_.seed + 1);
}

ImagePool SyntheticDataSource::load_pool(int classes, int image_size) {
  SyntheticSpec spec{config_.images, classes, image_size, config_.seed, config_.intensity_shift};
  return pool_without_patients(generate_synthetic_radiographs(spec));
}

ImagePool InMemoryDataSource::load_pool(int classes, int image_size) {
  return pool_without_patients(load(classes, image_size));
}

TrainHeldOut InMemoryDataSource::load(int classes, int image_size) {
  if (data_.train.image_size != image_size) {
    throw Error("the job wants " + std::to_string(image_size) + " px images but this site's data is " +
                std::to_string(data_.train.image_size) + " px");
  }
  // One class per image, or the bit set of `classes` findings.
  const int64_t end = multilabel_ ? (classes < 63 ? int64_t(1) << classes : INT64_MAX) : classes;
  for (const auto* set : {&data_.train, &data_.held_out}) {
    for (int64_t label : set->labels) {
      if (label < 0 || label >= end) {
        throw Error("a label " + std::to_string(label) + " is outside the job's " +
                    std::to_string(classes) + " classes");
      }
    }
  }
  return data_;
}

std::unique_ptr<DataSource> make_data_source(const DataSourceConfig& config) {
  if (config.source == "synthetic") return std::make_unique<SyntheticDataSource>(config);
  if (config.source == "image_folder") return std::make_unique<ImageFolderSource>(config);
  if (config.source == "npz") return std::make_unique<NpzSource>(config);
  if (config.source == "pacs") return std::make_unique<PacsSource>(config);
  throw Error("unknown data source '" + config.source + "'");
}

}  // namespace fedxray

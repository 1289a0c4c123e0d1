#include "coordinator/aggregation/strategy_decorator.h"

#include <filesystem>

#include "wire/model_file.h"

namespace fedxray {

ModelBlob StrategyDecorator::inner_global(const Aggregator& aggregate,
                                          const ModelFileReader& previous,
                                          const std::string& scratch) {
  return inner_global(aggregate, previous, previous.manifest(), scratch);
}

ModelBlob StrategyDecorator::inner_global(const Aggregator& aggregate,
                                          const ModelFileReader& previous,
                                          const wire::ModelManifest& layout,
                                          const std::string& scratch) {
  {
    ModelFileWriter side(scratch, layout);
    inner_->update_global(aggregate, previous, side, scratch + ".inner");
    side.commit();
  }
  ModelBlob model = read_model_file(scratch);
  std::filesystem::remove(scratch);
  std::filesystem::remove(scratch + ".sha256");
  return model;
}

}  // namespace fedxray

#include "coordinator/aggregation/strategy_decorator.h"

#include <filesystem>

#include "coordinator/aggregation/aggregator.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

// What `write` streams into a model file of `layout` at `path`, read back; the file is removed.
template <typename Write>
ModelBlob through_side_file(const wire::ModelManifest& layout, const std::string& path,
                            Write&& write) {
  {
    ModelFileWriter side(path, layout);
    write(side);
    side.commit();
  }
  ModelBlob model = read_model_file(path);
  std::filesystem::remove(path);
  std::filesystem::remove(path + ".sha256");
  return model;
}

}  // namespace

ModelBlob StrategyDecorator::inner_global(const Aggregator& aggregate,
                                          const ModelFileReader& previous,
                                          const std::string& scratch) {
  return inner_global(aggregate, previous, previous.manifest(), scratch);
}

ModelBlob StrategyDecorator::inner_global(const Aggregator& aggregate,
                                          const ModelFileReader& previous,
                                          const wire::ModelManifest& layout,
                                          const std::string& scratch) {
  return through_side_file(layout, scratch, [&](ModelFileWriter& side) {
    inner_->update_global(aggregate, previous, side, scratch + ".inner");
  });
}

ModelBlob StrategyDecorator::aggregate_result(const Aggregator& aggregate,
                                              const std::string& scratch) {
  return through_side_file(aggregate.result_layout(), scratch,
                           [&](ModelFileWriter& side) { aggregate.write_result(side); });
}

}  // namespace fedxray

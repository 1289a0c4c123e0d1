#include "coordinator/aggregation/server_momentum_strategy.h"

#include <filesystem>

#include "coordinator/aggregation/aggregator.h"
#include "wire/model_file.h"

namespace fedxray {

ServerMomentumStrategy::ServerMomentumStrategy(std::unique_ptr<Strategy> inner, double momentum,
                                               double learning_rate)
    : StrategyDecorator(std::move(inner)), momentum_(momentum, learning_rate) {}

void ServerMomentumStrategy::update_global(const Aggregator& aggregate,
                                           const ModelFileReader& previous, ModelFileWriter& next,
                                           const std::string& scratch) {
  // The inner strategy's model goes to a side file first; the momentum step makes the next one.
  {
    ModelFileWriter side(scratch, previous.manifest());
    inner().update_global(aggregate, previous, side, scratch + ".inner");
    side.commit();
  }
  const ModelBlob average = read_model_file(scratch);
  std::filesystem::remove(scratch);
  std::filesystem::remove(scratch + ".sha256");
  momentum_.apply(previous, average, next);
}

void ServerMomentumStrategy::resume(const ModelFileReader& before, const ModelFileReader& current) {
  momentum_.resume(before, current);
}

}  // namespace fedxray

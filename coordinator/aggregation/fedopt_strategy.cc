#include "coordinator/aggregation/fedopt_strategy.h"

#include <spdlog/spdlog.h>

namespace fedxray {

FedOptStrategy::FedOptStrategy(std::unique_ptr<Strategy> inner, ServerOptimizerConfig config)
    : StrategyDecorator(std::move(inner)), config_(config), optimizer_(config) {}

void FedOptStrategy::update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                                   ModelFileWriter& next, const std::string& scratch) {
  optimizer_.apply(previous, inner_global(aggregate, previous, scratch), next);
}

void FedOptStrategy::resume(const ModelFileReader&, const ModelFileReader&) {
  // Adam's moments cannot be recovered from two checkpoints: start them afresh.
  spdlog::warn("fed{}: no usable server state file; the optimizer's moments start from zero",
               config_.kind);
  optimizer_ = AdaptiveServerOptimizer(config_);
}

}  // namespace fedxray

#include "coordinator/aggregation/server_momentum_strategy.h"

namespace fedxray {

ServerMomentumStrategy::ServerMomentumStrategy(std::unique_ptr<Strategy> inner, double momentum,
                                               double learning_rate)
    : StrategyDecorator(std::move(inner)), momentum_(momentum, learning_rate) {}

void ServerMomentumStrategy::update_global(const Aggregator& aggregate,
                                           const ModelFileReader& previous, ModelFileWriter& next,
                                           const std::string& scratch) {
  momentum_.apply(previous, inner_global(aggregate, previous, scratch), next);
}

void ServerMomentumStrategy::resume(const ModelFileReader& before, const ModelFileReader& current) {
  momentum_.resume(before, current);
}

}  // namespace fedxray

// ServerMomentumStrategy: FedAvgM as a decorator around another Strategy. Sites are selected and
// updates aggregated by the inner strategy; the next global model is the server's momentum step
// from the previous one towards the round's aggregate (server_momentum.h).
#pragma once

#include <memory>

#include "coordinator/aggregation/server_momentum.h"
#include "coordinator/aggregation/strategy_decorator.h"

namespace fedxray {

class ServerMomentumStrategy : public StrategyDecorator {
 public:
  ServerMomentumStrategy(std::unique_ptr<Strategy> inner, double momentum, double learning_rate);
  std::string name() const override { return inner().name() + "+server-momentum"; }
  void update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                     ModelFileWriter& next, const std::string& scratch) override;
  void resume(const ModelFileReader& before, const ModelFileReader& current) override;
  bool keeps_server_state() const override { return true; }

 private:
  ServerMomentum momentum_;
};

}  // namespace fedxray

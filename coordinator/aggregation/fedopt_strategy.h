// FedOptStrategy: FedAdam, FedYogi or FedAdagrad as a decorator around another Strategy. Sites
// are selected and updates aggregated by the inner strategy (FedAvg's weighted mean, or a robust
// rule); the next global model is the adaptive server optimizer's step from the previous one
// towards the aggregate (adaptive_server_optimizer.h). Its moments are saved beside each
// checkpoint and restored after a coordinator restart; without a usable state file they start
// afresh (logged).
#pragma once

#include <memory>

#include "coordinator/aggregation/adaptive_server_optimizer.h"
#include "coordinator/aggregation/strategy_decorator.h"

namespace fedxray {

class FedOptStrategy : public StrategyDecorator {
 public:
  FedOptStrategy(std::unique_ptr<Strategy> inner, ServerOptimizerConfig config);
  std::string name() const override { return inner().name() + "+fed" + config_.kind; }
  void update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                     ModelFileWriter& next, const std::string& scratch) override;
  void resume(const ModelFileReader& before, const ModelFileReader& current) override;
  bool keeps_server_state() const override { return true; }
  void save_state(const std::string& path) const override { optimizer_.save(path); }
  std::string restore_state(const std::string& path, const wire::ModelManifest& layout) override {
    return optimizer_.restore(path, layout);
  }

 private:
  ServerOptimizerConfig config_;
  AdaptiveServerOptimizer optimizer_;
};

}  // namespace fedxray

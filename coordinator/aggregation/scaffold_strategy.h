// ScaffoldStrategy: SCAFFOLD (Karimireddy et al., "SCAFFOLD: Stochastic Controlled Averaging for
// Federated Learning", ICML 2020) as a decorator around another Strategy.
//
// The job's global model carries the server control c beside the weights (wire/
// scaffold_controls.h; initial_global() appends zeros). Each selected site trains with its
// gradients corrected by c - c_i and uploads its weights and c + (c_i' - c_i) in one update, so
// the inner strategy's aggregate (plain, or summed under secure aggregation) holds the mean
// weights and c + the mean control update. The next global model takes its weights from the
// inner strategy (so FedAvgM or FedOpt may step them) and its control as
//   c' = c + (reported sites / available sites) x (mean control update),
// SCAFFOLD's server control update (the fraction is 1 when every site trains every round).
// The control lives in the checkpoints, so a restarted coordinator resumes it with the model.
#pragma once

#include <memory>

#include "coordinator/aggregation/strategy_decorator.h"

namespace fedxray {

class ScaffoldStrategy : public StrategyDecorator {
 public:
  explicit ScaffoldStrategy(std::unique_ptr<Strategy> inner);
  std::string name() const override { return inner().name() + "+scaffold"; }
  ModelBlob initial_global(ModelBlob model) const override;
  std::vector<std::string> select_sites(int round, const std::vector<std::string>& available,
                                        int wanted) override;
  void update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                     ModelFileWriter& next, const std::string& scratch) override;

 private:
  std::size_t available_ = 0;  // sites available when this round's sites were selected
};

}  // namespace fedxray

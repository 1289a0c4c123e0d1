// FedBnStrategy: FedBN (Li et al., "FedBN: Federated Learning on Non-IID Features via Local Batch
// Normalization", ICLR 2021) as a decorator around the strategy that aggregates.
//
// The sites keep their batch-norm tensors and leave them out of their updates (wire/
// update_layout.h), so the round's aggregate lacks them. The next global model takes every
// tensor the aggregate has from the inner strategy, and the batch-norm tensors from the
// previous global model, unchanged; the sites never load those. In a round whose updates carry
// the sites' statistics (pooled_statistics "site-average", the job's last round), the pooled
// model takes the sites' weighted mean batch-norm weights and running means, and as running
// variance the pooled second moment minus the pooled mean squared: the variance over all sites'
// activations, not the mean of the sites' variances.
//
// It sits right around FedAvg (or the robust rule), below any server optimizer, which then sees
// a model of the full layout whose batch-norm tensors did not move.
#pragma once

#include <memory>

#include "coordinator/aggregation/strategy_decorator.h"

namespace fedxray {

class FedBnStrategy : public StrategyDecorator {
 public:
  explicit FedBnStrategy(std::unique_ptr<Strategy> inner);
  std::string name() const override { return inner().name() + "+fedbn"; }
  void update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                     ModelFileWriter& next, const std::string& scratch) override;
};

}  // namespace fedxray

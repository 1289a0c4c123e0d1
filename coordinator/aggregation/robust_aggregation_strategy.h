// RobustAggregationStrategy: a decorator that swaps the inner strategy's aggregator for a
// RobustAggregator (median, trimmed mean or Multi-Krum; robust_aggregator.h). Site selection and
// the step to the next global model stay the inner strategy's, so robust aggregation composes
// with server momentum. make_job_strategy refuses it together with secure aggregation.
#pragma once

#include <memory>
#include <string>

#include "config/job_config.h"
#include "coordinator/aggregation/strategy_decorator.h"

namespace fedxray {

class UndoJournalPool;

class RobustAggregationStrategy : public StrategyDecorator {
 public:
  // `journal_dir` holds the kept updates (unlinked temp files).
  RobustAggregationStrategy(std::unique_ptr<Strategy> inner, RobustAggregationConfig rule,
                            const std::string& journal_dir);
  std::string name() const override { return inner().name() + "+" + rule_.rule; }
  std::shared_ptr<Aggregator> make_aggregator(const RoundPlan& plan) override;

 private:
  RobustAggregationConfig rule_;
  std::shared_ptr<UndoJournalPool> journals_;
};

}  // namespace fedxray

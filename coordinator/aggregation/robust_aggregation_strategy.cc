#include "coordinator/aggregation/robust_aggregation_strategy.h"

#include "coordinator/aggregation/robust_aggregator.h"
#include "coordinator/aggregation/undo_journal.h"

namespace fedxray {

RobustAggregationStrategy::RobustAggregationStrategy(std::unique_ptr<Strategy> inner,
                                                     RobustAggregationConfig rule,
                                                     const std::string& journal_dir)
    : StrategyDecorator(std::move(inner)),
      rule_(std::move(rule)),
      journals_(UndoJournalPool::create(journal_dir)) {}

std::shared_ptr<Aggregator> RobustAggregationStrategy::make_aggregator(const RoundPlan& plan) {
  return std::make_shared<RobustAggregator>(plan.layout, rule_, journals_);
}

}  // namespace fedxray

// SecureAggregationStrategy: secure aggregation as a decorator around another Strategy. Sites
// are selected and the next global model written by the inner strategy; each round's aggregator
// is a SecureRound, so the coordinator only ever sees the masked sum of the sites' updates.
//
// The masking parameters of a round follow from its plan: the SecAgg+ graph degree and share
// threshold from the job (or their defaults for the number of sites), and the fixed-point scale
// from the sum of the sites' weight caps — not from what sites claim, so no site can shrink it.
#pragma once

#include <memory>
#include <string>

#include "config/job_config.h"
#include "coordinator/aggregation/strategy_decorator.h"

namespace fedxray {

class UndoJournalPool;

class SecureAggregationStrategy : public StrategyDecorator {
 public:
  // `ca_pem`: the consortium CA certificate that checks the sites' signed key adverts; throws
  // Error when it is empty. `journal_dir` holds the masked sums' undo journals.
  SecureAggregationStrategy(std::unique_ptr<Strategy> inner, std::string job_name,
                            SecureAggregationConfig config, std::string ca_pem,
                            const std::string& journal_dir);
  std::string name() const override { return inner().name() + "+secure-aggregation"; }
  // A SecureRound for plan.sites (its upload layout: SecureRound::masked_layout()).
  std::shared_ptr<Aggregator> make_aggregator(const RoundPlan& plan) override;

 private:
  std::string job_name_;
  SecureAggregationConfig config_;
  std::string ca_pem_;
  std::shared_ptr<UndoJournalPool> journals_;
};

}  // namespace fedxray

// FedAvgStrategy: McMahan et al.'s FedAvg — a seeded random subset of sites each round, pooled
// model = sample-weighted mean of their models (StreamingFedAvg).
#pragma once

#include "coordinator/aggregation/strategy.h"
#include "coordinator/aggregation/undo_journal.h"

namespace fedxray {

class FedAvgStrategy : public Strategy {
 public:
  // journal_dir holds StreamingFedAvg's undo journals.
  FedAvgStrategy(uint64_t seed, std::string journal_dir);
  std::string name() const override { return "fedavg"; }
  std::vector<std::string> select_sites(int round, const std::vector<std::string>& available,
                                        int wanted) override;
  std::shared_ptr<Aggregator> make_aggregator(const RoundPlan& plan) override;

 private:
  uint64_t seed_;
  std::shared_ptr<UndoJournalPool> journals_;  // shared by every round's aggregator
};

}  // namespace fedxray

#include "coordinator/aggregation/fedavg_strategy.h"

#include <algorithm>
#include <random>

#include "coordinator/aggregation/streaming_fedavg.h"

namespace fedxray {

FedAvgStrategy::FedAvgStrategy(uint64_t seed, std::string journal_dir)
    : seed_(seed), journals_(UndoJournalPool::create(std::move(journal_dir))) {}

std::vector<std::string> FedAvgStrategy::select_sites(int round,
                                                      const std::vector<std::string>& available,
                                                      int wanted) {
  std::vector<std::string> chosen = available;
  std::mt19937_64 rng(seed_ * 1000003ULL + uint64_t(round));
  std::shuffle(chosen.begin(), chosen.end(), rng);
  if (int(chosen.size()) > wanted) chosen.resize(std::size_t(wanted));
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

std::shared_ptr<Aggregator> FedAvgStrategy::make_aggregator(const RoundPlan& plan) {
  return std::make_shared<StreamingFedAvg>(plan.layout, journals_);
}

}  // namespace fedxray

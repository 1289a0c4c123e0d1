#include "coordinator/aggregation/fedavg_strategy.h"

#include <algorithm>
#include <random>

#include "config/job_config.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/server_momentum_strategy.h"
#include "coordinator/aggregation/streaming_fedavg.h"
#include "wire/model_file.h"

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

std::shared_ptr<Aggregator> FedAvgStrategy::make_aggregator(const wire::ModelManifest& layout) {
  return std::make_shared<StreamingFedAvg>(layout, journals_);
}

void Strategy::update_global(const Aggregator& aggregate, const ModelFileReader&,
                             ModelFileWriter& next, const std::string&) {
  aggregate.write_result(next);
}

std::unique_ptr<Strategy> make_job_strategy(const JobConfig& job, const std::string& journal_dir) {
  std::unique_ptr<Strategy> strategy = std::make_unique<FedAvgStrategy>(job.seed, journal_dir);
  if (job.server_momentum > 0 || job.server_learning_rate != 1.0) {
    strategy = std::make_unique<ServerMomentumStrategy>(std::move(strategy), job.server_momentum,
                                                        job.server_learning_rate);
  }
  return strategy;
}

}  // namespace fedxray

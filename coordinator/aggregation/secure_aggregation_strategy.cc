#include "coordinator/aggregation/secure_aggregation_strategy.h"

#include <algorithm>

#include "base/error.h"
#include "base/sha256.h"
#include "coordinator/aggregation/secure_round.h"
#include "coordinator/aggregation/undo_journal.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/neighbour_graph.h"

namespace fedxray {

SecureAggregationStrategy::SecureAggregationStrategy(std::unique_ptr<Strategy> inner,
                                                     std::string job_name,
                                                     SecureAggregationConfig config,
                                                     std::string ca_pem,
                                                     const std::string& journal_dir)
    : StrategyDecorator(std::move(inner)),
      job_name_(std::move(job_name)),
      config_(config),
      ca_pem_(std::move(ca_pem)) {
  if (ca_pem_.empty()) {
    throw Error("job " + job_name_ +
                " uses secure aggregation, but the coordinator was given "
                "no consortium CA certificate to check the sites' keys with");
  }
  journals_ = UndoJournalPool::create(journal_dir);
}

std::shared_ptr<Aggregator> SecureAggregationStrategy::make_aggregator(const RoundPlan& plan) {
  const int n = int(plan.sites.size());
  SecureRoundSettings settings;
  SecAggRound& p = settings.params;
  p.job = job_name_;
  p.round = plan.round;
  p.sites = plan.sites;
  const int k =
      std::max(1, std::min(n - 1, config_.neighbours > 0 ? config_.neighbours
                                                         : NeighbourGraph::recommended_degree(n)));
  p.neighbours = k;
  // Default: a majority of each neighbourhood (itself included) recovers a site's secrets.
  p.threshold = std::min(k + 1, config_.threshold > 0 ? config_.threshold : (k + 1) / 2 + 1);
  std::string seed = random_seed();
  p.graph_seed = Sha256::of(seed.data(), seed.size());
  p.vector_words = element_count(plan.layout) + 1;
  // The sum of the caps, not of what sites may later claim: an update weighing more is refused,
  // so no site can shrink the scale until the honest updates encode to zero.
  double weight_bound = 0;
  for (const auto& site : plan.sites) {
    auto cap = plan.weight_caps.find(site);
    weight_bound += cap == plan.weight_caps.end() ? 1.0 : double(cap->second);
  }
  settings.code = FixedPointCode::for_total_weight(config_.clip, weight_bound);
  settings.ca_pem = ca_pem_;
  settings.stage_timeout_s = config_.stage_timeout_s;
  settings.advert_deadline = plan.deadline;
  settings.layout = plan.layout;
  return std::make_shared<SecureRound>(settings, plan.global, journals_);
}

}  // namespace fedxray

// SiteFilters: the chain of filters a site agent runs every round (update_filter.h), in order.
//
//   inbound   finite-global-model   the coordinator's model holds only finite numbers and is the
//                                   job's model
//   outbound  keep-batch-norm-local FedBN jobs: the site's batch-norm layers stay here (in the
//                                   last round, with pooled statistics, their statistics go once)
//             dp-clip-noise         DP-FedAvg jobs: clip the update's delta, add Gaussian noise
//             privacy-budget        jobs with DP under a site budget: refuse rounds that would
//                                   overspend, and count each round before the update leaves
//             sample-weight-cap     the update weighs at most the site's dataset size and the
//                                   job's max_site_samples
//
// Secure-aggregation encoding happens after the chain, in the transport (secure_upload.h), since
// it is a protocol with the coordinator rather than a step on the update alone.
// The site policy's `require_filters` names outbound filters that must be active for a job, its
// `forbid_filters` those that must not be.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/site_policy.h"
#include "site-agent/filters/privacy_budget.h"
#include "site-agent/filters/update_filter.h"

namespace fedxray {

class SiteFilters {
 public:
  // `budget` outlives the chain.
  SiteFilters(const SitePolicy& policy, PrivacyBudget& budget);
  // Filters hold references into the chain (its policy copy): it stays where it was built.
  SiteFilters(const SiteFilters&) = delete;
  SiteFilters& operator=(const SiteFilters&) = delete;

  // Empty when every filter and the policy's required filters accept the round.
  std::string check(const FilterRound& round) const;
  void apply_inbound(const FilterRound& round, const ModelBlob& global);
  void apply_outbound(const FilterRound& round, const ModelBlob& global, TrainingResult& update);
  std::vector<std::string> names() const;  // in chain order, inbound first

 private:
  SitePolicy policy_;
  std::vector<std::unique_ptr<GlobalModelFilter>> inbound_;
  std::vector<std::unique_ptr<UpdateFilter>> outbound_;
};

}  // namespace fedxray

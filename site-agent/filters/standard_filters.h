// The filters fedxray ships (update_filter.h); site_filters.h puts them in order.
#pragma once

#include "config/site_policy.h"
#include "site-agent/filters/privacy_budget.h"
#include "site-agent/filters/update_filter.h"

namespace fedxray {

// Inbound: refuses a global model that is not the job's model or holds NaN or infinite values,
// so the site never trains on (or sends back) garbage from a faulty coordinator.
class FiniteGlobalModelFilter : public GlobalModelFilter {
 public:
  std::string name() const override { return "finite-global-model"; }
  void apply(const FilterRound& round, const ModelBlob& global) override;
};

// DP-FedAvg (client_privacy.h): clip the update's delta and add Gaussian noise. Active when the
// job enables differential_privacy.
class DpClipNoiseFilter : public UpdateFilter {
 public:
  std::string name() const override { return "dp-clip-noise"; }
  bool active(const wire::JobSpec& job) const override;
  void apply(const FilterRound& round, const ModelBlob& global, TrainingResult& update) override;
};

// The site's privacy budget (privacy_budget.h): refuses a round that would overspend the policy's
// caps, and counts each round before the update leaves. Active for DP jobs.
class PrivacyBudgetFilter : public UpdateFilter {
 public:
  PrivacyBudgetFilter(const SitePolicy& policy, PrivacyBudget& budget)
      : policy_(policy), budget_(budget) {}
  std::string name() const override { return "privacy-budget"; }
  bool active(const wire::JobSpec& job) const override;
  std::string check(const FilterRound& round) const override;
  void apply(const FilterRound& round, const ModelBlob& global, TrainingResult& update) override;

 private:
  const SitePolicy& policy_;
  PrivacyBudget& budget_;
};

// The update weighs at most the site's dataset size and the job's max_site_samples (which the
// coordinator enforces: an update claiming more is refused). Always active.
class SampleWeightCapFilter : public UpdateFilter {
 public:
  std::string name() const override { return "sample-weight-cap"; }
  bool active(const wire::JobSpec&) const override { return true; }
  void apply(const FilterRound& round, const ModelBlob& global, TrainingResult& update) override;
};

// FedBN: the update leaves without the site's batch-norm layers (wire/update_layout.h), which
// stay at the site. In the last round of a job whose pooled model takes "site-average"
// statistics they are sent once, each running_var as the second moment running_var +
// running_mean^2. Runs first, so that differential privacy clips and noises what leaves the
// site and nothing else.
class KeepBatchNormLocalFilter : public UpdateFilter {
 public:
  std::string name() const override { return "keep-batch-norm-local"; }
  bool active(const wire::JobSpec& job) const override { return job.fedbn().enabled(); }
  void apply(const FilterRound& round, const ModelBlob& global, TrainingResult& update) override;
};

}  // namespace fedxray

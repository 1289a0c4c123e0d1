#include "site-agent/filters/site_filters.h"

#include <algorithm>

#include "site-agent/filters/standard_filters.h"

namespace fedxray {

SiteFilters::SiteFilters(const SitePolicy& policy, PrivacyBudget& budget) : policy_(policy) {
  inbound_.push_back(std::make_unique<FiniteGlobalModelFilter>());
  outbound_.push_back(std::make_unique<KeepBatchNormLocalFilter>());
  outbound_.push_back(std::make_unique<DpClipNoiseFilter>());
  outbound_.push_back(std::make_unique<PrivacyBudgetFilter>(policy_, budget));
  outbound_.push_back(std::make_unique<SampleWeightCapFilter>());
}

std::string SiteFilters::check(const FilterRound& round) const {
  for (const auto& wanted : policy_.require_filters) {
    auto it = std::find_if(outbound_.begin(), outbound_.end(),
                           [&](const auto& f) { return f->name() == wanted; });
    if (it == outbound_.end() || !(*it)->active(round.job)) {
      return "site policy 'require_filters': job " + round.job.job_id() + " does not use the '" +
             wanted + "' filter this site requires on every update";
    }
  }
  for (const auto& unwanted : policy_.forbid_filters) {
    auto it = std::find_if(outbound_.begin(), outbound_.end(),
                           [&](const auto& f) { return f->name() == unwanted; });
    if (it != outbound_.end() && (*it)->active(round.job)) {
      return "site policy 'forbid_filters': job " + round.job.job_id() + " uses the '" +
             unwanted + "' filter, which this site does not allow on its updates";
    }
  }
  for (const auto& f : outbound_) {
    if (!f->active(round.job)) continue;
    if (std::string why = f->check(round); !why.empty()) return why;
  }
  return {};
}

void SiteFilters::apply_inbound(const FilterRound& round, const ModelBlob& global) {
  for (const auto& f : inbound_) f->apply(round, global);
}

void SiteFilters::apply_outbound(const FilterRound& round, const ModelBlob& global,
                                 TrainingResult& update) {
  for (const auto& f : outbound_) {
    if (f->active(round.job)) f->apply(round, global, update);
  }
}

std::vector<std::string> SiteFilters::names() const {
  std::vector<std::string> out;
  for (const auto& f : inbound_) out.push_back(f->name());
  for (const auto& f : outbound_) out.push_back(f->name());
  return out;
}

}  // namespace fedxray

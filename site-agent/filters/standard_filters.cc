#include "site-agent/filters/standard_filters.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "site-agent/filters/client_privacy.h"
#include "wire/update_layout.h"

namespace fedxray {

void FiniteGlobalModelFilter::apply(const FilterRound& round, const ModelBlob& global) {
  if (global.manifest.model() != round.job.model()) {
    throw ShareableError("the global model of round " + std::to_string(round.round) +
                         " is not the job's model; the site refuses the round");
  }
  for (const auto& t : global.manifest.tensors()) {
    if (t.dtype() != wire::FLOAT32 && t.dtype() != wire::FLOAT64) continue;
    const std::size_t esize = dtype_size(t.dtype());
    for (uint64_t i = 0; i < t.nbytes() / esize; ++i) {
      if (!std::isfinite(load_element(t.dtype(), global.bytes.data() + t.offset() + i * esize))) {
        throw ShareableError("the global model of round " + std::to_string(round.round) +
                             " holds NaN or infinite values in tensor '" + t.name() +
                             "'; the site refuses to train on it");
      }
    }
  }
}

bool DpClipNoiseFilter::active(const wire::JobSpec& job) const {
  return job.differential_privacy().enabled();
}

void DpClipNoiseFilter::apply(const FilterRound& round, const ModelBlob& global,
                              TrainingResult& update) {
  apply_client_privacy(round.job, global, update);
}

bool PrivacyBudgetFilter::active(const wire::JobSpec& job) const {
  return job.differential_privacy().enabled();
}

std::string PrivacyBudgetFilter::check(const FilterRound& round) const {
  return budget_.check_round(policy_, round.job, round.round);
}

void PrivacyBudgetFilter::apply(const FilterRound& round, const ModelBlob&, TrainingResult&) {
  budget_.spend_round(round.job);  // counted before anything leaves the site
}

void SampleWeightCapFilter::apply(const FilterRound& round, const ModelBlob&,
                                  TrainingResult& update) {
  uint64_t cap = round.dataset_size;
  if (round.job.max_site_samples() > 0) cap = std::min(cap, round.job.max_site_samples());
  update.samples = std::min(update.samples, cap);
}

void KeepBatchNormLocalFilter::apply(const FilterRound& round, const ModelBlob& global,
                                     TrainingResult& update) {
  const wire::ModelManifest layout = update_layout(round.job, round.round, global.manifest);
  if (sends_pooled_statistics(round.job, round.round)) {
    // The coordinator's mean of the second moments, minus its mean of the running means
    // squared, is the variance over all sites' activations.
    variances_to_second_moments(update.model);
  }
  update.model = restrict_to(update.model, layout);
}

}  // namespace fedxray

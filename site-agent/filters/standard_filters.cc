#include "site-agent/filters/standard_filters.h"

#include <algorithm>
#include <cmath>
#include <map>

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
    // running_var -> running_var + running_mean^2: the coordinator's mean of these, minus its
    // mean of the running means squared, is the variance over all sites' activations.
    std::map<std::string, const wire::TensorSpec*> by_name;
    for (const auto& t : update.model.manifest.tensors()) by_name[t.name()] = &t;
    const std::string var = ".running_var";
    for (const auto& name : normalization_tensors(update.model.manifest)) {
      if (name.size() < var.size() || name.compare(name.size() - var.size(), var.size(), var)) {
        continue;
      }
      const wire::TensorSpec& v = *by_name.at(name);
      const wire::TensorSpec& m = *by_name.at(name.substr(0, name.size() - var.size()) +
                                              ".running_mean");
      const std::size_t esize = dtype_size(v.dtype());
      for (std::size_t i = 0; i < v.nbytes() && i < m.nbytes(); i += esize) {
        char* at = update.model.bytes.data() + v.offset() + i;
        const double mu = load_element(m.dtype(), update.model.bytes.data() + m.offset() + i);
        store_element(v.dtype(), load_element(v.dtype(), at) + mu * mu, at);
      }
    }
  }
  update.model = restrict_to(update.model, layout);
}

}  // namespace fedxray

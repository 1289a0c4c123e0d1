#include "site-agent/filters/client_privacy.h"

#include <vector>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "privacy/dp/client_dp.h"
#include "wire/update_layout.h"

namespace fedxray {

void apply_client_privacy(const wire::JobSpec& job, const ModelBlob& global, TrainingResult& result) {
  const auto& dp = job.differential_privacy();
  if (!dp.enabled()) return;
  // The update may hold only part of the global model (FedBN): clip against that part.
  const bool whole = layout_difference(global.manifest, result.model.manifest).empty();
  const ModelBlob part = whole ? ModelBlob{} : restrict_to(global, result.model.manifest);
  const ModelBlob& base = whole ? global : part;
  // Integer tensors (batch-norm batch counters) are no model weights: they are neither clipped
  // nor noised, so they cannot eat the clip norm.
  auto is_float = [](const wire::TensorSpec& t) {
    return t.dtype() == wire::FLOAT32 || t.dtype() == wire::FLOAT64;
  };
  uint64_t floats = 0;
  for (const auto& t : base.manifest.tensors()) {
    if (is_float(t)) floats += t.nbytes() / dtype_size(t.dtype());
  }
  std::vector<float> delta(floats);
  std::size_t at = 0;
  for (const auto& t : base.manifest.tensors()) {
    if (!is_float(t)) continue;
    const std::size_t esize = dtype_size(t.dtype());
    for (uint64_t i = 0; i < t.nbytes() / esize; ++i, ++at) {
      const std::size_t offset = std::size_t(t.offset() + i * esize);
      delta[at] = float(load_element(t.dtype(), result.model.bytes.data() + offset) -
                        load_element(t.dtype(), base.bytes.data() + offset));
    }
  }
  const double stddev = site_noise_stddev(dp.noise_multiplier(), dp.clip_norm(), int(dp.summed_sites()));
  const ClipAndNoise r = clip_and_add_noise(delta.data(), delta.size(), dp.clip_norm(), stddev);
  at = 0;
  for (const auto& t : base.manifest.tensors()) {
    if (!is_float(t)) continue;
    const std::size_t esize = dtype_size(t.dtype());
    for (uint64_t i = 0; i < t.nbytes() / esize; ++i, ++at) {
      const std::size_t offset = std::size_t(t.offset() + i * esize);
      store_element(t.dtype(), load_element(t.dtype(), base.bytes.data() + offset) + delta[at],
                    result.model.bytes.data() + offset);
    }
  }
  result.model.seal();
  result.samples = 1;
  spdlog::info("job={} differential privacy: update norm {:.4f}{}, noise std {:.4g} per coordinate",
               job.job_id(), r.norm_before, r.clipped ? " clipped to " + std::to_string(dp.clip_norm()) : "",
               stddev);
}

}  // namespace fedxray

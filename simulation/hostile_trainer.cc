#include "simulation/hostile_trainer.h"

namespace fedxray {

TrainingResult HostileTrainer::train(const wire::JobSpec& job, int round, const ModelBlob& global,
                                     const TrainingProgress& progress) {
  TrainingResult result = honest_.train(job, round, global, progress);
  for (const auto& t : result.model.manifest.tensors()) {
    if (t.dtype() != wire::FLOAT32 && t.dtype() != wire::FLOAT64) continue;
    const std::size_t esize = dtype_size(t.dtype());
    for (uint64_t at = t.offset(); at < t.offset() + t.nbytes(); at += esize) {
      const double g = load_element(t.dtype(), global.bytes.data() + at);
      const double x = load_element(t.dtype(), result.model.bytes.data() + at);
      store_element(t.dtype(), g - attack_.scale * (x - g), result.model.bytes.data() + at);
    }
  }
  result.model.seal();
  return result;
}

}  // namespace fedxray

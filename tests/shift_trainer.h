// ShiftTrainer: a torch-free Trainer for federation tests whose "training" adds a known delta,
// so a test can compute exactly what the pooled model must be.
#pragma once

#include <cstring>

#include "training/trainer.h"

namespace fedxray::testing {

// Adds delta_k(site) = scale * ((k % 7) - 3) to float element k, and +step to the int64 counter.
class ShiftTrainer : public Trainer {
 public:
  ShiftTrainer(float scale, int64_t step, uint64_t samples)
      : scale_(scale), step_(step), samples_(samples) {}
  std::vector<std::string> supported_models() const override { return {"test-model"}; }
  uint64_t dataset_size() const override { return samples_; }
  TrainingResult train(const wire::JobSpec&, int, const ModelBlob& global,
                       const TrainingProgress& progress) override {
    TrainingResult r;
    r.model = global;
    for (const auto& t : r.model.manifest.tensors()) {
      char* p = r.model.bytes.data() + t.offset();
      if (t.dtype() == wire::FLOAT32) {
        for (uint64_t k = 0; k < t.nbytes() / 4; ++k) {
          float v;
          std::memcpy(&v, p + 4 * k, 4);
          v += scale_ * float(int(k % 7) - 3);
          std::memcpy(p + 4 * k, &v, 4);
        }
      } else {
        int64_t v;
        std::memcpy(&v, p, 8);
        v += step_;
        std::memcpy(p, &v, 8);
      }
    }
    r.model.seal();
    r.samples = samples_;
    progress("training", 1.0);
    return r;
  }

 private:
  float scale_;
  int64_t step_;
  uint64_t samples_;
};

}  // namespace fedxray::testing

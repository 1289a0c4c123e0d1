// PerturbTrainer: a Trainer that does no training — it returns the received model plus a small
// deterministic perturbation, so a benchmark measures the federation's own overhead.
#pragma once

#include <cstring>

#include "training/trainer.h"

namespace fedxray::bench {

class PerturbTrainer : public Trainer {
 public:
  PerturbTrainer(int site_index, uint64_t samples) : site_(site_index), samples_(samples) {}
  std::vector<std::string> supported_models() const override { return {"resnet18-layout"}; }
  uint64_t dataset_size() const override { return samples_; }
  TrainingResult train(const wire::JobSpec& job, int, const ModelBlob& global,
                       const TrainingProgress& progress) override {
    TrainingResult r;
    r.model = global;
    const float delta = 1e-4f * float(site_ + 1);
    for (uint64_t i = 0; i < r.model.bytes.size(); i += 4) {
      float v;
      std::memcpy(&v, r.model.bytes.data() + i, 4);
      v += (i & 4) ? delta : -delta;
      std::memcpy(r.model.bytes.data() + i, &v, 4);
    }
    r.model.seal();
    r.samples = samples_;
    progress("training", 1.0);
    return r;
  }

 private:
  int site_;
  uint64_t samples_;
};

}  // namespace fedxray::bench

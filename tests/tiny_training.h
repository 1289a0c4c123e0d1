// Small LibTorch training fixtures for the torch tests: 16 px images, full-batch SGD, a cnn-small
// job spec.
#pragma once

#include <string>
#include <vector>

#include "data/image_set.h"
#include "fedxray/proto/fedxray.pb.h"
#include "models/image_classifier.h"
#include "training/local_training.h"

namespace fedxray::testing {

inline ImageSet tiny_images(int count) {
  ImageSet data;
  data.image_size = 16;
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < 256; ++p) data.pixels.push_back(float((p * 7 + i * 13) % 17) / 16.0f);
    data.labels.push_back(i % 2);
  }
  return data;
}
inline std::vector<float> weights_of(ImageClassifier& m) {
  std::vector<float> out;
  for (auto& p : m.parameters()) {
    torch::Tensor t = p.detach().flatten().contiguous();
    out.insert(out.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return out;
}
// Plain SGD (no momentum) with one batch per epoch of the 8 tiny images.
inline TrainingOptions full_batch_sgd(double learning_rate) {
  TrainingOptions o;
  o.epochs = 1;
  o.batch_size = 8;
  o.optimizer = "sgd";
  o.momentum = 0.0;
  o.learning_rate = learning_rate;
  return o;
}
// A cnn-small job on the 16 px tiny images, one local epoch of batches of 8 per round.
inline wire::JobSpec tiny_job(const std::string& optimizer, double learning_rate, int rounds) {
  wire::JobSpec job;
  job.set_job_id("j");
  job.set_model("cnn-small");
  job.set_classes(2);
  job.set_image_size(16);
  job.set_rounds(uint32_t(rounds));
  job.set_local_epochs(1);
  job.set_batch_size(8);
  job.set_optimizer(optimizer);
  job.set_learning_rate(learning_rate);
  job.set_momentum(0.0);
  job.set_seed(9);
  return job;
}

}  // namespace fedxray::testing

// DenseNet121: Huang et al.'s DenseNet-121 (growth 32, blocks [6, 12, 24, 16], bottleneck 4x,
// compression 0.5) — the classic chest X-ray model (CheXNet) — with a 1-channel stem and global
// average pooling, so any image size >= 32 works. About 7.0M parameters.
#pragma once

#include "models/image_classifier.h"

namespace fedxray {

class DenseNet121 : public ImageClassifier {
 public:
  explicit DenseNet121(int classes);
  torch::Tensor forward(torch::Tensor images) override;

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Linear classifier_{nullptr};
};

}  // namespace fedxray

// CnnSmall: three 3x3 conv blocks and a linear head over global max pooling. Small enough
// (<100k parameters) that a federated round on CPU takes seconds; any image size >= 8 works.
// "cnn-small-bn" is the same network with batch norm after each convolution (bn1..bn3), for
// strategies that treat normalization layers apart (FedBN).
#pragma once

#include "models/image_classifier.h"

namespace fedxray {

class CnnSmall : public ImageClassifier {
 public:
  explicit CnnSmall(int classes, bool batch_norm = false);
  torch::Tensor forward(torch::Tensor images) override;

 private:
  torch::Tensor block(torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& norm, torch::Tensor x);

  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace fedxray

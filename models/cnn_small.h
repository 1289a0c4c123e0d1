// CnnSmall: three 3x3 conv blocks and a linear head over global average pooling. Small enough
// (<100k parameters) that a federated round on CPU takes seconds; any image size >= 8 works.
#pragma once

#include "models/image_classifier.h"

namespace fedxray {

class CnnSmall : public ImageClassifier {
 public:
  explicit CnnSmall(int classes);
  torch::Tensor forward(torch::Tensor images) override;

 private:
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::Linear head_{nullptr};
};

}  // namespace fedxray

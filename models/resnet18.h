// ResNet18: He et al.'s ResNet-18 (BasicBlocks [2, 2, 2, 2], widths 64-512, batch norm) with a
// 1-channel 7x7 stem for radiographs and global average pooling, so any image size >= 32 works.
// 11.2M parameters at 2 classes.
#pragma once

#include "models/image_classifier.h"

namespace fedxray {

class ResNet18 : public ImageClassifier {
 public:
  explicit ResNet18(int classes);
  torch::Tensor forward(torch::Tensor images) override;

 private:
  torch::nn::Conv2d stem_{nullptr};
  torch::nn::BatchNorm2d stem_bn_{nullptr};
  torch::nn::Sequential layers_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

}  // namespace fedxray

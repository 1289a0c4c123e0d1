// UNet: a 2D U-Net (Ronneberger et al., MICCAI 2015) for segmentation jobs: 1-channel images
// [N, 1, S, S] to per-pixel class logits [N, classes, S, S]. `depth` poolings (S must be a
// multiple of 2^depth), `width` channels at full resolution, doubling at each level; each level
// is two 3x3 convolutions with batch norm and ReLU, upsampling by 2x2 transposed convolution
// with the encoder's features concatenated, and a 1x1 convolution as the head.
// Registered as "unet-small" (depth 3, width 16, 0.47M parameters) and "unet" (depth 4,
// width 32, 7.8M).
#pragma once

#include "models/image_classifier.h"

namespace fedxray {

class UNet : public ImageClassifier {
 public:
  UNet(int classes, int depth, int width);
  torch::Tensor forward(torch::Tensor images) override;

 private:
  int depth_;
  torch::nn::ModuleList down_{nullptr}, up_{nullptr}, merge_{nullptr};
  torch::nn::Conv2d head_{nullptr};
};

}  // namespace fedxray

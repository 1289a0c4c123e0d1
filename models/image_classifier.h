// ImageClassifier: what every network in the registry is — a torch module mapping a batch of
// 1-channel images [N, 1, S, S] (float, roughly zero-centred) to logits: [N, outputs] for the
// whole-image tasks, [N, classes, S, S] per pixel for segmentation (wire/label_task.h).
#pragma once

#include <string>

#include <torch/torch.h>

namespace fedxray {

class ImageClassifier : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
};

}  // namespace fedxray

// ImageClassifier: what every network in the registry is — a torch module mapping a batch of
// 1-channel images [N, 1, S, S] (float, roughly zero-centred) to class logits [N, classes].
#pragma once

#include <string>

#include <torch/torch.h>

namespace fedxray {

class ImageClassifier : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor images) = 0;
};

}  // namespace fedxray

#include "models/cnn_small.h"

namespace fedxray {

CnnSmall::CnnSmall(int classes, bool batch_norm) {
  namespace nn = torch::nn;
  // Registration order is the export order; the head stays the last child (head_only training).
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)));
  if (batch_norm) bn1_ = register_module("bn1", nn::BatchNorm2d(16));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)));
  if (batch_norm) bn2_ = register_module("bn2", nn::BatchNorm2d(32));
  conv3_ = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
  if (batch_norm) bn3_ = register_module("bn3", nn::BatchNorm2d(64));
  head_ = register_module("head", nn::Linear(64, classes));
}

torch::Tensor CnnSmall::block(torch::nn::Conv2d& conv, torch::nn::BatchNorm2d& norm,
                              torch::Tensor x) {
  x = conv->forward(x);
  return torch::relu(norm ? norm->forward(x) : x);
}

torch::Tensor CnnSmall::forward(torch::Tensor x) {
  x = torch::max_pool2d(block(conv1_, bn1_, x), 2);
  x = torch::max_pool2d(block(conv2_, bn2_, x), 2);
  x = block(conv3_, bn3_, x);
  x = std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})).flatten(1);
  return head_->forward(x);
}

}  // namespace fedxray

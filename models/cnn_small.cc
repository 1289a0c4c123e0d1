#include "models/cnn_small.h"

namespace fedxray {

CnnSmall::CnnSmall(int classes) {
  namespace nn = torch::nn;
  conv1_ = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(1, 16, 3).padding(1)));
  conv2_ = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(16, 32, 3).padding(1)));
  conv3_ = register_module("conv3", nn::Conv2d(nn::Conv2dOptions(32, 64, 3).padding(1)));
  head_ = register_module("head", nn::Linear(64, classes));
}

torch::Tensor CnnSmall::forward(torch::Tensor x) {
  x = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);
  x = torch::max_pool2d(torch::relu(conv2_->forward(x)), 2);
  x = torch::relu(conv3_->forward(x));
  x = std::get<0>(torch::adaptive_max_pool2d(x, {1, 1})).flatten(1);
  return head_->forward(x);
}

}  // namespace fedxray

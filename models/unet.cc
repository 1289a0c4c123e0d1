#include "models/unet.h"

namespace fedxray {
namespace {

torch::nn::Sequential double_conv(int64_t in, int64_t out) {
  namespace nn = torch::nn;
  return nn::Sequential(nn::Conv2d(nn::Conv2dOptions(in, out, 3).padding(1).bias(false)),
                        nn::BatchNorm2d(out), nn::ReLU(),
                        nn::Conv2d(nn::Conv2dOptions(out, out, 3).padding(1).bias(false)),
                        nn::BatchNorm2d(out), nn::ReLU());
}

}  // namespace

UNet::UNet(int classes, int depth, int width) : depth_(depth) {
  namespace nn = torch::nn;
  auto channels = [&](int level) { return int64_t(width) << level; };
  // Registration order is the export order; the head stays the last child (head_only training).
  down_ = register_module("down", nn::ModuleList());
  down_->push_back(double_conv(1, channels(0)));
  for (int level = 1; level <= depth; ++level) {
    down_->push_back(double_conv(channels(level - 1), channels(level)));
  }
  up_ = register_module("up", nn::ModuleList());
  merge_ = register_module("merge", nn::ModuleList());
  for (int level = depth - 1; level >= 0; --level) {
    up_->push_back(nn::ConvTranspose2d(
        nn::ConvTranspose2dOptions(channels(level + 1), channels(level), 2).stride(2)));
    merge_->push_back(double_conv(2 * channels(level), channels(level)));
  }
  head_ = register_module("head", nn::Conv2d(nn::Conv2dOptions(channels(0), classes, 1)));
}

torch::Tensor UNet::forward(torch::Tensor x) {
  std::vector<torch::Tensor> skips;
  for (int level = 0; level <= depth_; ++level) {
    if (level > 0) x = torch::max_pool2d(x, 2);
    x = down_[std::size_t(level)]->as<torch::nn::Sequential>()->forward(x);
    skips.push_back(x);
  }
  for (int k = 0; k < depth_; ++k) {
    const int level = depth_ - 1 - k;
    x = up_[std::size_t(k)]->as<torch::nn::ConvTranspose2d>()->forward(x);
    x = torch::cat({skips[std::size_t(level)], x}, 1);
    x = merge_[std::size_t(k)]->as<torch::nn::Sequential>()->forward(x);
  }
  return head_->forward(x);
}

}  // namespace fedxray

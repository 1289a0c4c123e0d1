#include "models/resnet18.h"

namespace fedxray {
namespace {

namespace nn = torch::nn;

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

class BasicBlockImpl : public nn::Module {
 public:
  BasicBlockImpl(int64_t in, int64_t out, int64_t stride) {
    conv1_ = register_module("conv1", conv(in, out, 3, stride, 1));
    bn1_ = register_module("bn1", nn::BatchNorm2d(out));
    conv2_ = register_module("conv2", conv(out, out, 3, 1, 1));
    bn2_ = register_module("bn2", nn::BatchNorm2d(out));
    if (stride != 1 || in != out) {
      downsample_ = register_module(
          "downsample", nn::Sequential(conv(in, out, 1, stride, 0), nn::BatchNorm2d(out)));
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = torch::relu(bn1_->forward(conv1_->forward(x)));
    y = bn2_->forward(conv2_->forward(y));
    return torch::relu(y + (downsample_ ? downsample_->forward(x) : x));
  }

 private:
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr};
  nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

}  // namespace

ResNet18::ResNet18(int classes) {
  stem_ = register_module("conv1", conv(1, 64, 7, 2, 3));
  stem_bn_ = register_module("bn1", nn::BatchNorm2d(64));
  nn::Sequential layers;
  int64_t in = 64;
  for (int64_t width : {64, 128, 256, 512}) {
    const int64_t stride = width == 64 ? 1 : 2;
    layers->push_back(BasicBlock(in, width, stride));
    layers->push_back(BasicBlock(width, width, 1));
    in = width;
  }
  layers_ = register_module("layers", layers);
  fc_ = register_module("fc", nn::Linear(512, classes));
}

torch::Tensor ResNet18::forward(torch::Tensor x) {
  x = torch::relu(stem_bn_->forward(stem_->forward(x)));
  x = torch::max_pool2d(x, 3, 2, 1);
  x = layers_->forward(x);
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return fc_->forward(x);
}

}  // namespace fedxray

#include "models/densenet121.h"

namespace fedxray {
namespace {

namespace nn = torch::nn;

class DenseLayerImpl : public nn::Module {
 public:
  DenseLayerImpl(int64_t in, int64_t growth, int64_t bottleneck) {
    norm1_ = register_module("norm1", nn::BatchNorm2d(in));
    conv1_ = register_module(
        "conv1", nn::Conv2d(nn::Conv2dOptions(in, bottleneck * growth, 1).bias(false)));
    norm2_ = register_module("norm2", nn::BatchNorm2d(bottleneck * growth));
    conv2_ = register_module(
        "conv2", nn::Conv2d(nn::Conv2dOptions(bottleneck * growth, growth, 3).padding(1).bias(false)));
  }
  // Returns the input with this layer's new feature maps appended.
  torch::Tensor forward(torch::Tensor x) {
    torch::Tensor y = conv1_->forward(torch::relu(norm1_->forward(x)));
    y = conv2_->forward(torch::relu(norm2_->forward(y)));
    return torch::cat({x, y}, 1);
  }

 private:
  nn::BatchNorm2d norm1_{nullptr}, norm2_{nullptr};
  nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
};
TORCH_MODULE(DenseLayer);

class TransitionImpl : public nn::Module {
 public:
  TransitionImpl(int64_t in, int64_t out) {
    norm_ = register_module("norm", nn::BatchNorm2d(in));
    conv_ = register_module("conv", nn::Conv2d(nn::Conv2dOptions(in, out, 1).bias(false)));
  }
  torch::Tensor forward(torch::Tensor x) {
    return torch::avg_pool2d(conv_->forward(torch::relu(norm_->forward(x))), 2, 2);
  }

 private:
  nn::BatchNorm2d norm_{nullptr};
  nn::Conv2d conv_{nullptr};
};
TORCH_MODULE(Transition);

}  // namespace

DenseNet121::DenseNet121(int classes) {
  constexpr int64_t growth = 32, bottleneck = 4;
  nn::Sequential f;
  f->push_back(nn::Conv2d(nn::Conv2dOptions(1, 64, 7).stride(2).padding(3).bias(false)));
  f->push_back(nn::BatchNorm2d(64));
  f->push_back(nn::Functional(torch::relu));
  f->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1)));
  int64_t channels = 64;
  const int blocks[] = {6, 12, 24, 16};
  for (int b = 0; b < 4; ++b) {
    for (int l = 0; l < blocks[b]; ++l) {
      f->push_back(DenseLayer(channels, growth, bottleneck));
      channels += growth;
    }
    if (b < 3) {
      f->push_back(Transition(channels, channels / 2));
      channels /= 2;
    }
  }
  f->push_back(nn::BatchNorm2d(channels));
  features_ = register_module("features", f);
  classifier_ = register_module("classifier", nn::Linear(channels, classes));
}

torch::Tensor DenseNet121::forward(torch::Tensor x) {
  x = torch::relu(features_->forward(x));
  x = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return classifier_->forward(x);
}

}  // namespace fedxray

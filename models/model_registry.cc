#include "models/model_registry.h"

#include <mutex>

#include "base/error.h"
#include "models/cnn_small.h"
#include "models/densenet121.h"
#include "models/resnet18.h"
#include "models/unet.h"

namespace fedxray {

std::vector<std::string> registered_models() {
  return {"cnn-small", "cnn-small-bn", "resnet18", "densenet121", "unet-small", "unet"};
}

namespace {

bool is_registered(const std::string& name) {
  for (const auto& known : registered_models()) {
    if (known == name) return true;
  }
  return false;
}

}  // namespace

std::shared_ptr<ImageClassifier> create_model(const ModelSpec& spec) {
  if (spec.classes < 2) throw Error("model '" + spec.name + "' needs at least 2 classes");
  const int outputs = model_outputs(spec.task, spec.classes);
  const bool segmenter = spec.name == "unet-small" || spec.name == "unet";
  const bool segmentation = spec.task == LabelTask::segmentation;
  if (segmenter != segmentation && (segmenter || is_registered(spec.name))) {
    throw Error("model '" + spec.name + "' " +
                (segmenter ? "segments images; use it with task: segmentation"
                           : "classifies whole images; a segmentation job needs unet-small or unet"));
  }
  const int depth = spec.name == "unet" ? 4 : 3;
  if (segmenter && spec.image_size % (1 << depth) != 0) {
    throw Error("model '" + spec.name + "' needs image_size a multiple of " +
                std::to_string(1 << depth) + ", got " + std::to_string(spec.image_size));
  }
  if (spec.image_size < 8) throw Error("model '" + spec.name + "' needs image_size >= 8");
  static std::mutex rng_mutex;
  std::lock_guard<std::mutex> lock(rng_mutex);
  torch::manual_seed(spec.seed);
  if (spec.name == "cnn-small") return std::make_shared<CnnSmall>(outputs);
  if (spec.name == "cnn-small-bn") return std::make_shared<CnnSmall>(outputs, true);
  if (spec.name == "resnet18") return std::make_shared<ResNet18>(outputs);
  if (spec.name == "densenet121") return std::make_shared<DenseNet121>(outputs);
  if (spec.name == "unet-small") return std::make_shared<UNet>(outputs, 3, 16);
  if (spec.name == "unet") return std::make_shared<UNet>(outputs, 4, 32);
  std::string known;
  for (const auto& n : registered_models()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown model '" + spec.name + "'; the registry has: " + known);
}

int64_t parameter_count(torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace fedxray

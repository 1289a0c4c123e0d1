#include "models/model_registry.h"

#include <mutex>

#include "base/error.h"
#include "models/cnn_small.h"
#include "models/densenet121.h"
#include "models/resnet18.h"

namespace fedxray {

std::vector<std::string> registered_models() {
  return {"cnn-small", "cnn-small-bn", "resnet18", "densenet121"};
}

std::shared_ptr<ImageClassifier> create_model(const ModelSpec& spec) {
  if (spec.classes < 2) throw Error("model '" + spec.name + "' needs at least 2 classes");
  const int outputs = model_outputs(spec.task, spec.classes);
  if (spec.image_size < 8) throw Error("model '" + spec.name + "' needs image_size >= 8");
  static std::mutex rng_mutex;
  std::lock_guard<std::mutex> lock(rng_mutex);
  torch::manual_seed(spec.seed);
  if (spec.name == "cnn-small") return std::make_shared<CnnSmall>(outputs);
  if (spec.name == "cnn-small-bn") return std::make_shared<CnnSmall>(outputs, true);
  if (spec.name == "resnet18") return std::make_shared<ResNet18>(outputs);
  if (spec.name == "densenet121") return std::make_shared<DenseNet121>(outputs);
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

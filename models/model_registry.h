// The model registry: networks by name. Each is built for 1-channel radiographs with a
// configurable number of classes and image size, and its initial weights depend only on the seed
// (creation holds a lock around torch's global RNG, so concurrent callers stay deterministic).
//
// Registered: "cnn-small" (about 24k parameters, for fast tests and the quickstart),
// "resnet18" (11.2M) and "densenet121" (7.0M), all with a 1-channel input; and for segmentation
// jobs only "unet-small" and "unet" (models/unet.h), which need an image size that is a
// multiple of 8 and 16.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "models/image_classifier.h"
#include "wire/label_task.h"

namespace fedxray {

// `classes` counts the job's classes, grades or findings; the network has
// model_outputs(task, classes) logits.
struct ModelSpec {
  std::string name;
  int classes = 2;
  int image_size = 32;
  uint64_t seed = 1;
  LabelTask task = LabelTask::classification;
};

// Throws fedxray::Error for an unknown name (listing the known ones) or an unusable spec.
std::shared_ptr<ImageClassifier> create_model(const ModelSpec& spec);
std::vector<std::string> registered_models();
int64_t parameter_count(torch::nn::Module& module);

}  // namespace fedxray

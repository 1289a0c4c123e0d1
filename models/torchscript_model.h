// TorchScript models: how a pooled model leaves fedxray. Python loads the file with
// torch.jit.load(path); `fedxray evaluate` loads it with load_torchscript().
//
// The model is traced in eval mode (batch norm uses its running statistics) on a zero image of
// its own size; the saved module takes [N, 1, S, S] float images standardised per image (zero
// mean, unit variance, as fedxray trains) and returns [N, classes] logits. Its integer
// attributes `fedxray_classes` and `fedxray_image_size` say what it expects. Errors throw
// fedxray::Error naming the path.
#pragma once

#include <string>

#include <memory>

#include "models/image_classifier.h"
#include "wire/model_blob.h"

namespace fedxray {

void export_torchscript(const ModelBlob& model, const std::string& path);

struct LoadedTorchScript {
  std::shared_ptr<ImageClassifier> model;
  int classes = 0;
  int image_size = 0;
};
LoadedTorchScript load_torchscript(const std::string& path);

}  // namespace fedxray

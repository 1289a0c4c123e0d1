// TorchScript models: how a pooled model leaves fedxray. Python loads the file with
// torch.jit.load(path); `fedxray evaluate` loads it with load_torchscript().
//
// The model is traced in eval mode (batch norm uses its running statistics) on a zero image of
// its own size; the saved module takes [N, 1, S, S] float images standardised per image (zero
// mean, unit variance, as fedxray trains) and returns logits. Its integer attributes
// `fedxray_classes` and `fedxray_image_size` and string attribute `fedxray_task` say what it
// expects and what the logits mean (wire/label_task.h, training/label_loss.h):
//   classification  [N, classes]: softmax gives class probabilities.
//   ordinal         [N, classes - 1]: sigmoid of logit k is P(grade > k); the predicted grade
//                   is the number of them above 1/2.
//   multilabel      [N, classes]: sigmoid of logit k is P(finding k present).
// A file without `fedxray_task` (written before tasks existed) is a classifier. Errors throw
// fedxray::Error naming the path.
#pragma once

#include <string>

#include <memory>

#include "models/image_classifier.h"
#include "wire/label_task.h"
#include "wire/model_blob.h"

namespace fedxray {

void export_torchscript(const ModelBlob& model, const std::string& path);

struct LoadedTorchScript {
  std::shared_ptr<ImageClassifier> model;
  int classes = 0;
  int image_size = 0;
  LabelTask task = LabelTask::classification;
};
LoadedTorchScript load_torchscript(const std::string& path);

}  // namespace fedxray

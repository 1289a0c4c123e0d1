#include "wire/label_task.h"

#include "base/error.h"

namespace fedxray {

LabelTask parse_label_task(const std::string& name) {
  if (name.empty() || name == "classification") return LabelTask::classification;
  if (name == "ordinal") return LabelTask::ordinal;
  if (name == "multilabel") return LabelTask::multilabel;
  if (name == "segmentation") return LabelTask::segmentation;
  throw Error("unknown task '" + name + "'; use classification, ordinal, multilabel or segmentation");
}

std::string label_task_name(LabelTask task) {
  switch (task) {
    case LabelTask::ordinal: return "ordinal";
    case LabelTask::multilabel: return "multilabel";
    case LabelTask::segmentation: return "segmentation";
    case LabelTask::classification: break;
  }
  return "classification";
}

int model_outputs(LabelTask task, int classes) {
  return task == LabelTask::ordinal ? classes - 1 : classes;
}

std::string headline_metric_name(LabelTask task) {
  switch (task) {
    case LabelTask::ordinal: return "QWK";
    case LabelTask::multilabel: return "macro AUC";
    case LabelTask::segmentation: return "Dice";
    case LabelTask::classification: break;
  }
  return "AUC";
}

}  // namespace fedxray

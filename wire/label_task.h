// LabelTask: what a job's labels are and so what a model's outputs mean. Torch-free; the job
// spec and every model manifest carry it by name.
//
//   classification  one class 0..classes-1 per image; `classes` logits, softmax, cross-entropy.
//   ordinal         one grade 0..classes-1 per image whose order matters (Kellgren-Lawrence,
//                   Sharp/van der Heijde); classes-1 logits, logit k scoring "grade > k", each
//                   trained with binary cross-entropy (ordinal binary decomposition: Niu et al.,
//                   CVPR 2016; the loss CORAL uses, Cao et al. 2020).
//   multilabel      `classes` findings, each present or not, any number per image; `classes`
//                   logits, sigmoid, binary cross-entropy per finding. In an ImageSet an image's
//                   label is then a bit set: bit k set = finding k present (at most 63 findings).
//   segmentation    a mask per image, each pixel one of `classes` classes (0 = background);
//                   `classes` logits per pixel, cross-entropy plus soft Dice (training/label_loss.h).
#pragma once

#include <cstdint>
#include <string>

namespace fedxray {

enum class LabelTask { classification, ordinal, multilabel, segmentation };

// "" and "classification" -> classification; an unknown name throws fedxray::Error listing the
// known ones.
LabelTask parse_label_task(const std::string& name);
std::string label_task_name(LabelTask task);
// How many logits a model for `classes` classes / grades / findings has.
int model_outputs(LabelTask task, int classes);
// The metric a job of this task is judged by, as tables print it: ROC AUC, or for ordinal jobs
// quadratic-weighted kappa, for multi-label jobs the macro ROC AUC over findings, for
// segmentation jobs the mean Dice over images and foreground classes.
std::string headline_metric_name(LabelTask task);

constexpr int kMaxMultilabelFindings = 63;

// Whether finding k is set in a multi-label image's bit set.
inline bool has_finding(int64_t label, int k) {
  return ((uint64_t(label) >> k) & 1u) != 0;
}

}  // namespace fedxray

// What a model's logits are trained with and what they say, per label task (wire/label_task.h):
//   classification  cross-entropy; scores = softmax.
//   ordinal         binary cross-entropy of logit k against "grade > k", summed over the
//                   classes-1 thresholds (CORAL's loss, Cao et al. 2020); scores = the
//                   distribution over grades, P(grade = j) = P(> j-1) - P(> j) with the
//                   threshold probabilities made non-increasing first, so it is a distribution.
//   multilabel      binary cross-entropy per finding, averaged over findings; scores = sigmoid.
//   segmentation    per image, cross-entropy averaged over pixels plus 1 - the soft Dice of the
//                   foreground classes (smoothed by 1, averaged over classes); scores = softmax
//                   over classes at each pixel.
// Labels are int64 [N]: class or grade, or the bit set of findings; for segmentation the masks
// [N, S, S]. Scores are [N, classes], for segmentation [N, classes, S, S].
#pragma once

#include <torch/torch.h>

#include "wire/label_task.h"

namespace fedxray {

// The mean loss over the batch, or with `sum` set its sum over the batch.
torch::Tensor label_loss(LabelTask task, const torch::Tensor& logits, const torch::Tensor& labels,
                         bool sum = false);
torch::Tensor label_scores(LabelTask task, const torch::Tensor& logits);

}  // namespace fedxray

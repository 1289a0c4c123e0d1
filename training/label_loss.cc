#include "training/label_loss.h"

namespace fedxray {
namespace {

// [N, outputs] 0/1 targets of the binary tasks an ordinal or multi-label model learns.
torch::Tensor binary_targets(LabelTask task, const torch::Tensor& labels, int64_t outputs) {
  const int64_t n = labels.size(0);
  torch::Tensor targets = torch::empty({n, outputs});
  auto t = targets.accessor<float, 2>();
  const torch::Tensor cpu_labels = labels.to(torch::kCPU).contiguous();
  const int64_t* y = cpu_labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t k = 0; k < outputs; ++k) {
      t[i][k] = task == LabelTask::ordinal ? float(y[i] > k) : float(has_finding(y[i], int(k)));
    }
  }
  return targets.to(labels.device());
}

}  // namespace

torch::Tensor label_loss(LabelTask task, const torch::Tensor& logits, const torch::Tensor& labels,
                         bool sum) {
  namespace F = torch::nn::functional;
  torch::Tensor per_image;
  if (task == LabelTask::classification) {
    per_image =
        F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kNone));
  } else if (task == LabelTask::segmentation) {
    const int64_t classes = logits.size(1);
    const torch::Tensor cross_entropy =
        F::cross_entropy(logits, labels, F::CrossEntropyFuncOptions().reduction(torch::kNone))
            .mean({1, 2});
    const torch::Tensor p = torch::softmax(logits, 1).narrow(1, 1, classes - 1);
    const torch::Tensor truth =
        F::one_hot(labels, classes).permute({0, 3, 1, 2}).to(p.dtype()).narrow(1, 1, classes - 1);
    const torch::Tensor overlap = (p * truth).sum({2, 3});
    const torch::Tensor dice = (2 * overlap + 1) / (p.sum({2, 3}) + truth.sum({2, 3}) + 1);
    per_image = cross_entropy + (1 - dice.mean(1));
  } else {
    const torch::Tensor targets = binary_targets(task, labels, logits.size(1));
    per_image =
        F::binary_cross_entropy_with_logits(
            logits, targets, F::BinaryCrossEntropyWithLogitsFuncOptions().reduction(torch::kNone))
            .sum(1);
    if (task == LabelTask::multilabel) per_image = per_image / double(logits.size(1));
  }
  return sum ? per_image.sum() : per_image.mean();
}

torch::Tensor label_scores(LabelTask task, const torch::Tensor& logits) {
  switch (task) {
    case LabelTask::multilabel: return torch::sigmoid(logits);
    case LabelTask::segmentation: return torch::softmax(logits, 1);
    case LabelTask::ordinal: {
      const torch::Tensor above = std::get<0>(torch::cummin(torch::sigmoid(logits), 1));
      const int64_t n = logits.size(0);
      const torch::Tensor one = torch::ones({n, 1}, above.options());
      const torch::Tensor zero = torch::zeros({n, 1}, above.options());
      return torch::cat({one, above}, 1) - torch::cat({above, zero}, 1);
    }
    case LabelTask::classification: break;
  }
  return torch::softmax(logits, 1);
}

}  // namespace fedxray

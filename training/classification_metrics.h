// Classification metrics over a held-out split, torch-free: what a site reports each round and
// what `fedxray evaluate` prints.
//
// Inputs are per-image class scores (probabilities; any monotone score works for AUC) and true
// labels. ROC AUC is exact (Mann-Whitney U with average ranks, so ties count one half); for more
// than two classes it is the macro average of one-vs-rest AUCs over classes that have both
// positives and negatives. A metric that is undefined for the data (AUC with one class present)
// is NaN, never a made-up number. Balanced accuracy and macro F1 average over classes that occur
// in the labels, so a rare finding weighs as much as a common one.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "wire/label_task.h"

namespace fedxray {

inline constexpr double kUndefinedMetric = std::numeric_limits<double>::quiet_NaN();

struct ClassificationMetrics {
  LabelTask task = LabelTask::classification;
  uint64_t count = 0;
  double accuracy = 0;
  double balanced_accuracy = 0;  // mean per-class recall
  double macro_f1 = 0;
  double roc_auc = 0;            // binary: class 1 vs 0; multi-class: macro one-vs-rest
  // One-vs-rest, per class. For two classes, sensitivity[1] / specificity[1] are the usual
  // sensitivity and specificity for "class 1 = finding".
  std::vector<double> sensitivity;
  std::vector<double> specificity;
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  // Ordinal tasks (NaN otherwise): quadratic-weighted Cohen's kappa between true and predicted
  // grade, mean absolute error in grades, and the share predicted within one grade.
  double quadratic_weighted_kappa = kUndefinedMetric;
  double mean_absolute_error = kUndefinedMetric;
  double within_one_accuracy = kUndefinedMetric;
  // Multi-label tasks: per finding ROC AUC and average precision (NaN where undefined), and the
  // macro average precision.
  std::vector<double> label_auc;
  std::vector<double> label_average_precision;
  double average_precision = kUndefinedMetric;
  // Segmentation tasks (training/segmentation_metrics.h): means over images and foreground
  // classes; distances in pixels.
  double dice = kUndefinedMetric;
  double iou = kUndefinedMetric;
  double hausdorff95 = kUndefinedMetric;
  double mean_surface_distance = kUndefinedMetric;

  // The metric the task is judged by (headline_metric_name(task)): roc_auc, for ordinal tasks
  // quadratic_weighted_kappa, for segmentation dice.
  double headline() const {
    if (task == LabelTask::segmentation) return dice;
    return task == LabelTask::ordinal ? quadratic_weighted_kappa : roc_auc;
  }
};

// scores: count x classes, row-major. Labels outside [0, classes) throw fedxray::Error.
ClassificationMetrics compute_classification_metrics(const std::vector<float>& scores,
                                                     const std::vector<int64_t>& labels,
                                                     int classes);

// Ordinal grades 0..classes-1. scores: count x classes, each row the predicted distribution over
// grades; the predicted grade is its median (the number of thresholds k with P(grade > k) > 1/2,
// as ordinal binary decomposition predicts). Accuracy, balanced accuracy, macro F1, sensitivity,
// specificity and the confusion matrix are those of the predicted grade; roc_auc is the mean over
// thresholds k of the AUC of P(grade > k) for telling grades above k from the rest.
ClassificationMetrics compute_ordinal_metrics(const std::vector<float>& scores,
                                              const std::vector<int64_t>& labels, int classes);

// Multi-label: labels are bit sets of `findings` findings (wire/label_task.h), scores count x
// findings probabilities. A finding counts as predicted at probability 1/2. roc_auc is the
// macro AUC over findings with both positives and negatives; accuracy the mean per-finding
// accuracy; balanced accuracy the mean of (sensitivity + specificity) / 2; macro F1 over
// findings that occur. No confusion matrix.
ClassificationMetrics compute_multilabel_metrics(const std::vector<float>& scores,
                                                 const std::vector<int64_t>& labels, int findings);

// The task's metrics: one of the three above (segmentation has its own, from masks).
ClassificationMetrics compute_task_metrics(LabelTask task, const std::vector<float>& scores,
                                           const std::vector<int64_t>& labels, int classes);

// Average precision, the area under the precision-recall curve as a step function over the
// distinct scores (sum of (R_n - R_n-1) P_n, as scikit-learn computes it); NaN without positives.
double average_precision(const std::vector<double>& scores, const std::vector<bool>& positive);

// The mean of the values that are not NaN; NaN when none is (how undefined per-class or per-image
// metrics are left out of a summary).
double mean_of_defined(const std::vector<double>& values);

// Exact ROC AUC of `scores` for separating positives from negatives; NaN if either is absent.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

}  // namespace fedxray

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
#include <vector>

namespace fedxray {

struct ClassificationMetrics {
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
};

// scores: count x classes, row-major. Labels outside [0, classes) throw fedxray::Error.
ClassificationMetrics compute_classification_metrics(const std::vector<float>& scores,
                                                     const std::vector<int64_t>& labels,
                                                     int classes);

// Exact ROC AUC of `scores` for separating positives from negatives; NaN if either is absent.
double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive);

}  // namespace fedxray

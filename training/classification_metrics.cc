#include "training/classification_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "base/error.h"

namespace fedxray {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ratio(double num, double den) { return den > 0 ? num / den : kNaN; }

}  // namespace

double roc_auc(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });
  // Rank sum of the positives, tied scores sharing their average rank.
  double positive_rank_sum = 0;
  uint64_t positives = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double average_rank = (double(i + 1) + double(j)) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (positive[order[k]]) {
        positive_rank_sum += average_rank;
        ++positives;
      }
    }
    i = j;
  }
  const uint64_t negatives = n - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  const double u = positive_rank_sum - double(positives) * double(positives + 1) / 2.0;
  return u / (double(positives) * double(negatives));
}

namespace {

// Accuracy, per-class sensitivity and specificity, balanced accuracy and macro F1 from
// m.confusion.
void summarise_confusion(ClassificationMetrics& m, int classes) {
  const auto n = int64_t(m.count);
  int64_t correct = 0;
  for (int c = 0; c < classes; ++c) correct += m.confusion[std::size_t(c)][std::size_t(c)];
  m.accuracy = ratio(double(correct), double(n));
  double recall_sum = 0, f1_sum = 0;
  int present = 0;
  for (int c = 0; c < classes; ++c) {
    int64_t tp = m.confusion[std::size_t(c)][std::size_t(c)], actual = 0, predicted = 0;
    for (int k = 0; k < classes; ++k) {
      actual += m.confusion[std::size_t(c)][std::size_t(k)];
      predicted += m.confusion[std::size_t(k)][std::size_t(c)];
    }
    const int64_t fp = predicted - tp, fn = actual - tp, tn = n - tp - fp - fn;
    m.sensitivity.push_back(ratio(double(tp), double(tp + fn)));
    m.specificity.push_back(ratio(double(tn), double(tn + fp)));
    if (actual > 0) {
      ++present;
      recall_sum += double(tp) / double(actual);
      f1_sum += 2.0 * double(tp) / double(2 * tp + fp + fn);
    }
  }
  m.balanced_accuracy = ratio(recall_sum, present);
  m.macro_f1 = ratio(f1_sum, present);
}

// Metrics of `task` for n images, nothing computed yet; throws unless scores are n x columns.
ClassificationMetrics start_metrics(LabelTask task, const std::vector<float>& scores,
                                    std::size_t n, int columns) {
  if (scores.size() != n * std::size_t(columns)) {
    throw Error("metrics: " + std::to_string(scores.size()) + " scores for " + std::to_string(n) +
                " images x " + std::to_string(columns) + " classes");
  }
  ClassificationMetrics m;
  m.task = task;
  m.count = n;
  if (task != LabelTask::multilabel) {
    m.confusion.assign(std::size_t(columns), std::vector<int64_t>(std::size_t(columns), 0));
  }
  return m;
}

void check_label(int64_t label, int classes) {
  if (label < 0 || label >= classes) {
    throw Error("metrics: label " + std::to_string(label) + " is outside the " +
                std::to_string(classes) + " classes");
  }
}

}  // namespace

double mean_of_defined(const std::vector<double>& values) {
  double sum = 0;
  int defined = 0;
  for (double v : values) {
    if (!std::isnan(v)) {
      sum += v;
      ++defined;
    }
  }
  return ratio(sum, defined);
}

double average_precision(const std::vector<double>& scores, const std::vector<bool>& positive) {
  const std::size_t n = scores.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  const auto positives = std::count(positive.begin(), positive.end(), true);
  if (positives == 0) return kNaN;
  double ap = 0, last_recall = 0;
  int64_t tp = 0;
  for (std::size_t i = 0; i < n;) {
    std::size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) {
      if (positive[order[j]]) ++tp;
      ++j;
    }
    const double recall = double(tp) / double(positives);
    ap += (recall - last_recall) * double(tp) / double(j);
    last_recall = recall;
    i = j;
  }
  return ap;
}

ClassificationMetrics compute_classification_metrics(const std::vector<float>& scores,
                                                     const std::vector<int64_t>& labels,
                                                     int classes) {
  const std::size_t n = labels.size();
  ClassificationMetrics m = start_metrics(LabelTask::classification, scores, n, classes);
  for (std::size_t i = 0; i < n; ++i) {
    check_label(labels[i], classes);
    const float* row = scores.data() + i * std::size_t(classes);
    const auto predicted = std::max_element(row, row + classes) - row;
    ++m.confusion[std::size_t(labels[i])][std::size_t(predicted)];
  }
  summarise_confusion(m, classes);
  std::vector<double> aucs;
  for (int c = classes == 2 ? 1 : 0; c < classes; ++c) {  // binary AUC: class 1 only
    std::vector<double> s(n);
    std::vector<bool> pos(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = scores[i * std::size_t(classes) + std::size_t(c)];
      pos[i] = labels[i] == c;
    }
    aucs.push_back(roc_auc(s, pos));
  }
  m.roc_auc = mean_of_defined(aucs);
  return m;
}

ClassificationMetrics compute_ordinal_metrics(const std::vector<float>& scores,
                                              const std::vector<int64_t>& labels, int classes) {
  const std::size_t n = labels.size();
  ClassificationMetrics m = start_metrics(LabelTask::ordinal, scores, n, classes);
  // above[k][i] = P(grade of image i > k)
  std::vector<std::vector<double>> above(std::size_t(classes - 1), std::vector<double>(n));
  double absolute_error = 0;
  int64_t within_one = 0;
  for (std::size_t i = 0; i < n; ++i) {
    check_label(labels[i], classes);
    const float* row = scores.data() + i * std::size_t(classes);
    double tail = 0;
    int predicted = 0;
    for (int k = classes - 2; k >= 0; --k) {
      tail += row[k + 1];
      above[std::size_t(k)][i] = tail;
      if (tail > 0.5) ++predicted;
    }
    ++m.confusion[std::size_t(labels[i])][std::size_t(predicted)];
    const auto error = std::abs(int64_t(predicted) - labels[i]);
    absolute_error += double(error);
    if (error <= 1) ++within_one;
  }
  summarise_confusion(m, classes);
  m.mean_absolute_error = ratio(absolute_error, double(n));
  m.within_one_accuracy = ratio(double(within_one), double(n));
  // Cohen's kappa with weights (i - j)^2: 1 - sum(w O) / sum(w E), E from the marginals.
  std::vector<double> truth(std::size_t(classes), 0), guess(std::size_t(classes), 0);
  for (int i = 0; i < classes; ++i) {
    for (int j = 0; j < classes; ++j) {
      truth[std::size_t(i)] += double(m.confusion[std::size_t(i)][std::size_t(j)]);
      guess[std::size_t(j)] += double(m.confusion[std::size_t(i)][std::size_t(j)]);
    }
  }
  double observed = 0, expected = 0;
  for (int i = 0; i < classes; ++i) {
    for (int j = 0; j < classes; ++j) {
      const double w = double((i - j) * (i - j));
      observed += w * double(m.confusion[std::size_t(i)][std::size_t(j)]);
      expected += w * truth[std::size_t(i)] * guess[std::size_t(j)] / double(n);
    }
  }
  m.quadratic_weighted_kappa = n > 0 && expected > 0 ? 1.0 - observed / expected : kNaN;
  std::vector<double> aucs;
  for (int k = 0; k + 1 < classes; ++k) {
    std::vector<bool> pos(n);
    for (std::size_t i = 0; i < n; ++i) pos[i] = labels[i] > k;
    aucs.push_back(roc_auc(above[std::size_t(k)], pos));
  }
  m.roc_auc = mean_of_defined(aucs);
  return m;
}

ClassificationMetrics compute_multilabel_metrics(const std::vector<float>& scores,
                                                 const std::vector<int64_t>& labels, int findings) {
  const std::size_t n = labels.size();
  ClassificationMetrics m = start_metrics(LabelTask::multilabel, scores, n, findings);
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || (findings < 63 && labels[i] >= (int64_t(1) << findings))) {
      throw Error("metrics: label bit set " + std::to_string(labels[i]) + " names findings beyond the " +
                  std::to_string(findings) + " of this job");
    }
  }
  std::vector<double> accuracy, balanced, f1;
  for (int k = 0; k < findings; ++k) {
    std::vector<double> s(n);
    std::vector<bool> pos(n);
    int64_t tp = 0, fp = 0, fn = 0, tn = 0;
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = scores[i * std::size_t(findings) + std::size_t(k)];
      pos[i] = has_finding(labels[i], k);
      const bool said = s[i] >= 0.5;
      tp += pos[i] && said, fp += !pos[i] && said, fn += pos[i] && !said, tn += !pos[i] && !said;
    }
    m.label_auc.push_back(roc_auc(s, pos));
    m.label_average_precision.push_back(average_precision(s, pos));
    const double sensitivity = ratio(double(tp), double(tp + fn));
    const double specificity = ratio(double(tn), double(tn + fp));
    m.sensitivity.push_back(sensitivity);
    m.specificity.push_back(specificity);
    accuracy.push_back(ratio(double(tp + tn), double(n)));
    balanced.push_back((sensitivity + specificity) / 2);  // NaN unless both are defined
    if (tp + fn > 0) f1.push_back(2.0 * double(tp) / double(2 * tp + fp + fn));
  }
  m.accuracy = mean_of_defined(accuracy);
  m.balanced_accuracy = mean_of_defined(balanced);
  m.macro_f1 = mean_of_defined(f1);
  m.roc_auc = mean_of_defined(m.label_auc);
  m.average_precision = mean_of_defined(m.label_average_precision);
  return m;
}

ClassificationMetrics compute_task_metrics(LabelTask task, const std::vector<float>& scores,
                                           const std::vector<int64_t>& labels, int classes) {
  switch (task) {
    case LabelTask::ordinal: return compute_ordinal_metrics(scores, labels, classes);
    case LabelTask::multilabel: return compute_multilabel_metrics(scores, labels, classes);
    case LabelTask::segmentation:
      throw Error("segmentation metrics compare masks (training/segmentation_metrics.h), not scores");
    case LabelTask::classification: break;
  }
  return compute_classification_metrics(scores, labels, classes);
}

}  // namespace fedxray

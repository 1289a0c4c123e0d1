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

ClassificationMetrics compute_classification_metrics(const std::vector<float>& scores,
                                                     const std::vector<int64_t>& labels,
                                                     int classes) {
  const std::size_t n = labels.size();
  if (scores.size() != n * std::size_t(classes)) {
    throw Error("metrics: " + std::to_string(scores.size()) + " scores for " + std::to_string(n) +
                " images x " + std::to_string(classes) + " classes");
  }
  ClassificationMetrics m;
  m.count = n;
  m.confusion.assign(std::size_t(classes), std::vector<int64_t>(std::size_t(classes), 0));
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw Error("metrics: label " + std::to_string(labels[i]) + " is outside the " +
                  std::to_string(classes) + " classes");
    }
    const float* row = scores.data() + i * std::size_t(classes);
    const auto predicted = std::max_element(row, row + classes) - row;
    ++m.confusion[std::size_t(labels[i])][std::size_t(predicted)];
  }
  int64_t correct = 0;
  for (int c = 0; c < classes; ++c) correct += m.confusion[std::size_t(c)][std::size_t(c)];
  m.accuracy = ratio(double(correct), double(n));

  double recall_sum = 0, f1_sum = 0, auc_sum = 0;
  int present = 0, auc_classes = 0;
  for (int c = 0; c < classes; ++c) {
    int64_t tp = m.confusion[std::size_t(c)][std::size_t(c)], actual = 0, predicted = 0;
    for (int k = 0; k < classes; ++k) {
      actual += m.confusion[std::size_t(c)][std::size_t(k)];
      predicted += m.confusion[std::size_t(k)][std::size_t(c)];
    }
    const int64_t fp = predicted - tp, fn = actual - tp, tn = int64_t(n) - tp - fp - fn;
    m.sensitivity.push_back(ratio(double(tp), double(tp + fn)));
    m.specificity.push_back(ratio(double(tn), double(tn + fp)));
    if (actual > 0) {
      ++present;
      recall_sum += double(tp) / double(actual);
      f1_sum += 2.0 * double(tp) / double(2 * tp + fp + fn);
    }
    if (classes == 2 && c == 0) continue;  // binary AUC: class 1 only
    std::vector<double> s(n);
    std::vector<bool> pos(n);
    for (std::size_t i = 0; i < n; ++i) {
      s[i] = scores[i * std::size_t(classes) + std::size_t(c)];
      pos[i] = labels[i] == c;
    }
    const double auc = roc_auc(s, pos);
    if (!std::isnan(auc)) {
      auc_sum += auc;
      ++auc_classes;
    }
  }
  m.balanced_accuracy = ratio(recall_sum, present);
  m.macro_f1 = ratio(f1_sum, present);
  m.roc_auc = ratio(auc_sum, auc_classes);
  return m;
}

}  // namespace fedxray

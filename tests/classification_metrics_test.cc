// Held-out metrics, checked against values worked out by hand for small cases.
#include <catch2/catch.hpp>

#include <cmath>

#include "base/error.h"
#include "training/classification_metrics.h"

using namespace fedxray;

namespace {

std::vector<float> binary_scores(const std::vector<float>& p_finding) {
  std::vector<float> out;
  for (float p : p_finding) {
    out.push_back(1.0f - p);
    out.push_back(p);
  }
  return out;
}

}  // namespace

TEST_CASE("binary metrics with a tied score match the hand computation", "[metrics]") {
  // Finding scores: positives 0.35, 0.8, 0.4; negatives 0.1, 0.4, 0.2.
  // Pairs won by the positive: 0.35 -> 2, 0.8 -> 3, 0.4 -> 1 + 0.5 (tie) + 1 = 2.5; 7.5 of 9.
  const std::vector<int64_t> labels = {0, 0, 1, 1, 1, 0};
  ClassificationMetrics m =
      compute_classification_metrics(binary_scores({0.1f, 0.4f, 0.35f, 0.8f, 0.4f, 0.2f}), labels, 2);
  CHECK(m.roc_auc == Approx(7.5 / 9.0));
  // Only 0.8 is above 0.5: confusion [[3, 0], [2, 1]].
  CHECK(m.confusion == std::vector<std::vector<int64_t>>{{3, 0}, {2, 1}});
  CHECK(m.accuracy == Approx(4.0 / 6.0));
  CHECK(m.sensitivity[1] == Approx(1.0 / 3.0));
  CHECK(m.specificity[1] == Approx(1.0));
  CHECK(m.balanced_accuracy == Approx((1.0 + 1.0 / 3.0) / 2.0));
  // F1: class 1 = 2*1 / (2*1 + 0 + 2) = 0.5; class 0 = 2*3 / (2*3 + 2 + 0) = 0.75.
  CHECK(m.macro_f1 == Approx(0.625));
}

TEST_CASE("multi-class AUC is the macro one-vs-rest average, ties counting one half", "[metrics]") {
  const std::vector<int64_t> labels = {0, 1, 2, 2};
  const std::vector<float> scores = {0.7f, 0.2f, 0.1f,    // true 0, predicted 0
                                     0.2f, 0.4f, 0.4f,    // true 1, tie -> first max: 1
                                     0.2f, 0.2f, 0.6f,    // true 2, predicted 2
                                     0.5f, 0.1f, 0.4f};   // true 2, predicted 0
  ClassificationMetrics m = compute_classification_metrics(scores, labels, 3);
  // Class 0: 0.7 beats 0.2, 0.2, 0.5 -> 1. Class 1: 0.4 beats 0.2, 0.2, 0.1 -> 1.
  // Class 2: positives 0.6, 0.4 vs negatives 0.1, 0.4 -> (2 + 1.5) / 4 = 0.875.
  CHECK(m.roc_auc == Approx((1.0 + 1.0 + 0.875) / 3.0));
  CHECK(m.confusion == std::vector<std::vector<int64_t>>{{1, 0, 0}, {0, 1, 0}, {1, 0, 1}});
  CHECK(m.accuracy == Approx(0.75));
  CHECK(m.balanced_accuracy == Approx((1.0 + 1.0 + 0.5) / 3.0));
  CHECK(m.macro_f1 == Approx((2.0 / 3.0 + 1.0 + 2.0 / 3.0) / 3.0));
  CHECK(m.specificity[0] == Approx(2.0 / 3.0));
  CHECK(m.sensitivity[2] == Approx(0.5));
}

TEST_CASE("balanced accuracy exposes a model that always predicts the majority", "[metrics]") {
  std::vector<int64_t> labels(100, 0);
  for (int i = 0; i < 5; ++i) labels[std::size_t(i)] = 1;  // a rare finding
  std::vector<float> p(100, 0.1f);
  ClassificationMetrics m = compute_classification_metrics(binary_scores(p), labels, 2);
  CHECK(m.accuracy == Approx(0.95));
  CHECK(m.balanced_accuracy == Approx(0.5));
  CHECK(m.sensitivity[1] == Approx(0.0));
  CHECK(m.roc_auc == Approx(0.5));  // every score tied
}

TEST_CASE("AUC is undefined with one class present, and bad labels are refused", "[metrics]") {
  CHECK(std::isnan(roc_auc({0.1, 0.9}, {true, true})));
  ClassificationMetrics m = compute_classification_metrics(binary_scores({0.2f, 0.7f}), {1, 1}, 2);
  CHECK(std::isnan(m.roc_auc));
  CHECK(std::isnan(m.specificity[1]));
  CHECK(m.balanced_accuracy == Approx(0.5));  // only class 1 present: its recall
  CHECK_THROWS_WITH(compute_classification_metrics(binary_scores({0.2f}), {2}, 2),
                    Catch::Contains("label 2 is outside the 2 classes"));
}

// Confident learning (Northcutt, Jiang and Chuang, JAIR 2021): which given labels are probably
// wrong, from out-of-fold predicted class probabilities. Torch-free.
//
// The threshold of class j is the mean predicted probability of j over the images labelled j
// (how confident the model is, on average, about images that really are j). An image labelled i
// counts towards class j when p_j reaches j's threshold; among the classes it reaches, the most
// probable is its confident class. An image whose confident class is not its given label lies
// off the diagonal of the confident joint: it is suspected, with that class as the suspected
// true label. Suspects are ranked by the margin p_suspected - p_given, largest first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fedxray {

struct SuspectedLabel {
  std::size_t image = 0;
  int64_t given = 0;
  int64_t suspected = 0;
  double given_probability = 0;
  double suspected_probability = 0;
};

struct LabelIssues {
  std::vector<double> thresholds;        // per class; NaN for a class no image is labelled with
  std::vector<SuspectedLabel> suspects;  // ranked, most suspicious first
};

// probabilities: count x classes, rows summing to 1; labels in [0, classes).
LabelIssues find_label_issues(const std::vector<float>& probabilities,
                              const std::vector<int64_t>& labels, int classes);

}  // namespace fedxray

#include "training/confident_learning.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "base/error.h"

namespace fedxray {

LabelIssues find_label_issues(const std::vector<float>& probabilities,
                              const std::vector<int64_t>& labels, int classes) {
  const std::size_t n = labels.size(), k = std::size_t(classes);
  if (probabilities.size() != n * k) {
    throw Error("label audit: " + std::to_string(probabilities.size()) + " probabilities for " +
                std::to_string(n) + " images x " + std::to_string(classes) + " classes");
  }
  LabelIssues out;
  std::vector<double> sum(k, 0.0);
  std::vector<std::size_t> count(k, 0);
  for (std::size_t i = 0; i < n; ++i) {
    if (labels[i] < 0 || labels[i] >= classes) {
      throw Error("label audit: label " + std::to_string(labels[i]) + " is outside the " +
                  std::to_string(classes) + " classes");
    }
    const auto given = std::size_t(labels[i]);
    sum[given] += probabilities[i * k + given];
    ++count[given];
  }
  for (std::size_t j = 0; j < k; ++j) {
    out.thresholds.push_back(count[j] > 0 ? sum[j] / double(count[j])
                                          : std::numeric_limits<double>::quiet_NaN());
  }
  for (std::size_t i = 0; i < n; ++i) {
    const float* p = probabilities.data() + i * k;
    int best = -1;
    for (std::size_t j = 0; j < k; ++j) {
      // A class nobody is labelled with has no threshold: nothing can be counted towards it.
      if (std::isnan(out.thresholds[j]) || p[j] < out.thresholds[j]) continue;
      if (best < 0 || p[j] > p[std::size_t(best)]) best = int(j);
    }
    if (best < 0 || best == labels[i]) continue;
    out.suspects.push_back({i, labels[i], best, p[std::size_t(labels[i])], p[std::size_t(best)]});
  }
  std::stable_sort(out.suspects.begin(), out.suspects.end(),
                   [](const SuspectedLabel& a, const SuspectedLabel& b) {
                     return a.suspected_probability - a.given_probability >
                            b.suspected_probability - b.given_probability;
                   });
  return out;
}

}  // namespace fedxray

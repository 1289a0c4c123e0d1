// Confident learning on probabilities worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>

#include "base/error.h"
#include "training/confident_learning.h"

using namespace fedxray;

TEST_CASE(
    "confident learning flags labels off the confident joint's diagonal, most confident "
    "first",
    "[label-audit]") {
  const std::vector<int64_t> labels = {0, 0, 1, 1, 2, 2};
  const std::vector<float> p = {0.9f,  0.05f, 0.05f,  // labelled 0, looks 0
                                0.1f,  0.8f,  0.1f,   // labelled 0, looks 1: suspect
                                0.1f,  0.7f,  0.2f,   // labelled 1, below every threshold
                                0.05f, 0.9f,  0.05f,  // labelled 1, looks 1
                                0.2f,  0.1f,  0.7f,   // labelled 2, looks 2
                                0.6f,  0.1f,  0.3f};  // labelled 2, looks 0: suspect
  const LabelIssues issues = find_label_issues(p, labels, 3);
  // Thresholds: the mean probability of each class over the images labelled with it.
  REQUIRE(issues.thresholds.size() == 3);
  CHECK(issues.thresholds[0] == Approx(0.5));
  CHECK(issues.thresholds[1] == Approx(0.8));
  CHECK(issues.thresholds[2] == Approx(0.5));
  REQUIRE(issues.suspects.size() == 2);
  CHECK(issues.suspects[0].image == 1);  // margin 0.8 - 0.1 ranks first
  CHECK(issues.suspects[0].given == 0);
  CHECK(issues.suspects[0].suspected == 1);
  CHECK(issues.suspects[0].suspected_probability == Approx(0.8));
  CHECK(issues.suspects[1].image == 5);  // margin 0.6 - 0.3
  CHECK(issues.suspects[1].suspected == 0);
  // A class nobody is labelled with has no threshold, and nothing is suspected of being it.
  const LabelIssues unused = find_label_issues({0.2f, 0.8f, 0.9f, 0.1f}, {0, 0}, 2);
  CHECK(std::isnan(unused.thresholds[1]));
  CHECK(unused.suspects.empty());
  CHECK_THROWS_WITH(find_label_issues(p, labels, 2),
                    Catch::Contains("18 probabilities for 6 images x 2"));
}

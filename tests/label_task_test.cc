// Ordinal and multi-label jobs, torch-free: their metrics against values worked out by hand (and
// by the usual formulas in NumPy), the job keys that choose them, and multi-label manifests.
#include <catch2/catch.hpp>

#include <cmath>

#include "base/atomic_file.h"
#include "base/error.h"
#include "config/config_reader.h"
#include "config/job_config.h"
#include "config/simulation_config.h"
#include "tests/test_support.h"
#include "training/classification_metrics.h"
#include "wire/label_task.h"

using namespace fedxray;

namespace {

// One row per image: all probability on `grade`.
std::vector<float> certain_grades(const std::vector<int>& grades, int classes) {
  std::vector<float> out;
  for (int g : grades) {
    for (int k = 0; k < classes; ++k) out.push_back(k == g ? 1.0f : 0.0f);
  }
  return out;
}

std::string job_error(const std::string& extra) {
  try {
    parse_job_config(
        "job:\n  name: knee\n  model: cnn-small\n  classes: 3\n  image_size: 32\n  rounds: 1\n  "
        "sites_per_round: 1\n" +
            extra,
        "job.yaml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("label tasks parse by name and size the model's outputs", "[labels]") {
  CHECK(parse_label_task("") == LabelTask::classification);
  CHECK(parse_label_task("ordinal") == LabelTask::ordinal);
  CHECK(label_task_name(parse_label_task("multilabel")) == "multilabel");
  CHECK_THROWS_WITH(parse_label_task("regression"),
                    Catch::Contains("unknown task 'regression'") && Catch::Contains("ordinal"));
  CHECK(model_outputs(LabelTask::ordinal, 5) == 4);
  CHECK(model_outputs(LabelTask::multilabel, 14) == 14);
  CHECK(model_outputs(LabelTask::classification, 3) == 3);
  CHECK(headline_metric_name(LabelTask::ordinal) == "QWK");
  CHECK(has_finding(0b1010, 1));
  CHECK_FALSE(has_finding(0b1010, 2));
}

TEST_CASE("ordinal metrics: quadratic kappa, MAE and within-one match the hand computation",
          "[labels][metrics]") {
  // True 0 1 2 2 3, predicted 0 2 2 1 3. Kappa 1 - sum(w O) / sum(w E) with w = (i - j)^2:
  // observed 2, expected 10.4 -> 0.8077 (as numpy and scikit-learn compute it).
  const std::vector<int64_t> truth = {0, 1, 2, 2, 3};
  ClassificationMetrics m = compute_ordinal_metrics(certain_grades({0, 2, 2, 1, 3}, 4), truth, 4);
  CHECK(m.task == LabelTask::ordinal);
  CHECK(m.quadratic_weighted_kappa == Approx(0.8076923077));
  CHECK(m.headline() == Approx(0.8076923077));
  CHECK(m.mean_absolute_error == Approx(0.4));
  CHECK(m.within_one_accuracy == Approx(1.0));
  CHECK(m.accuracy == Approx(0.6));
  CHECK(m.confusion[1][2] == 1);
  CHECK(m.confusion[2][1] == 1);
  // Perfect grades: kappa 1, and every threshold's AUC is 1.
  ClassificationMetrics perfect =
      compute_ordinal_metrics(certain_grades({0, 1, 2, 2, 3}, 4), truth, 4);
  CHECK(perfect.quadratic_weighted_kappa == Approx(1.0));
  CHECK(perfect.roc_auc == Approx(1.0));
  CHECK(perfect.mean_absolute_error == 0.0);
}

TEST_CASE("the predicted grade is the median of the predicted distribution, not its mode",
          "[labels][metrics]") {
  // P = 0.3, 0.3, 0.4: the mode is grade 2, but P(grade > 0) = 0.7 and P(grade > 1) = 0.4, so
  // the median grade is 1.
  ClassificationMetrics m = compute_ordinal_metrics({0.3f, 0.3f, 0.4f}, {1}, 3);
  CHECK(m.confusion[1][1] == 1);
  CHECK(m.accuracy == 1.0);
  // All images of one grade and all predicted alike: kappa is undefined, not a number made up.
  CHECK(std::isnan(
      compute_ordinal_metrics(certain_grades({1, 1}, 3), {1, 1}, 3).quadratic_weighted_kappa));
  CHECK_THROWS_WITH(compute_ordinal_metrics(certain_grades({0}, 3), {3}, 3),
                    Catch::Contains("label 3 is outside the 3 classes"));
}

TEST_CASE("average precision matches scikit-learn's step-function definition",
          "[labels][metrics]") {
  CHECK(average_precision({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}) == Approx(0.8333333));
  // Tied scores form one threshold: 1/3 x 1/2 + 1/3 x 2/3 + 1/3 x 3/5.
  CHECK(average_precision({0.9, 0.9, 0.5, 0.2, 0.2}, {true, false, true, false, true}) ==
        Approx(0.5888889));
  CHECK(std::isnan(average_precision({0.2, 0.3}, {false, false})));
}

TEST_CASE("multi-label metrics are computed per finding from the label bit sets",
          "[labels][metrics]") {
  // Finding 0 present in images 2 and 3, finding 1 in image 0 only, finding 2 in none.
  const std::vector<int64_t> labels = {0b010, 0b000, 0b001, 0b001};
  const std::vector<float> scores = {0.1f,  0.9f, 0.3f,   // image 0
                                     0.4f,  0.2f, 0.1f,   // image 1
                                     0.35f, 0.1f, 0.6f,   // image 2
                                     0.8f,  0.6f, 0.2f};  // image 3
  ClassificationMetrics m = compute_multilabel_metrics(scores, labels, 3);
  REQUIRE(m.label_auc.size() == 3);
  CHECK(m.label_auc[0] == Approx(0.75));  // positives 0.35, 0.8 vs 0.1, 0.4: 3 of 4 pairs
  CHECK(m.label_auc[1] == Approx(1.0));
  CHECK(std::isnan(m.label_auc[2]));  // no image has finding 2
  CHECK(m.roc_auc == Approx(0.875));  // the macro over defined findings
  CHECK(m.label_average_precision[0] == Approx(0.8333333));
  CHECK(std::isnan(m.label_average_precision[2]));
  CHECK(m.average_precision == Approx((0.8333333 + 1.0) / 2));
  // At 1/2: finding 0 says yes only for image 3 (sensitivity 1/2), finding 2 a false alarm.
  CHECK(m.sensitivity[0] == Approx(0.5));
  CHECK(m.specificity[2] == Approx(0.75));
  CHECK(m.confusion.empty());
  CHECK_THROWS_WITH(compute_multilabel_metrics(scores, {0, 0, 0, 0b1000}, 3),
                    Catch::Contains("beyond the 3 of this job"));
}

TEST_CASE("job files choose the task, name the labels, and refuse what does not fit",
          "[labels][config]") {
  JobConfig job = parse_job_config(
      "job:\n  name: knee\n  model: cnn-small\n  classes: 3\n  image_size: 32\n  rounds: 1\n  "
      "sites_per_round: 1\n"
      "  task: ordinal\n"
      "  labels: [none, doubtful, minimal]\n",
      "job.yaml");
  CHECK(job.task == "ordinal");
  CHECK(job.label_names.size() == 3);
  CHECK(parse_job_config("job:\n  name: k\n  model: m\n  classes: 2\n  image_size: 8\n  rounds: "
                         "1\n  sites_per_round: 1\n",
                         "job.yaml")
            .task == "classification");
  CHECK_THAT(job_error("  task: regression\n"),
             Catch::Contains("job.yaml:8") && Catch::Contains("'job.task'"));
  CHECK_THAT(job_error("  labels: [a, b]\n"),
             Catch::Contains("'job.labels'") && Catch::Contains("names 2 labels but classes is 3"));
  CHECK_THAT(job_error("  task: ordinal\n  logit_adjustment: true\n"),
             Catch::Contains("'job.logit_adjustment'") && Catch::Contains("task is ordinal"));
  CHECK_THAT(job_error("  task: multilabel\n").substr(0, 8), Catch::Equals("no error"));
}

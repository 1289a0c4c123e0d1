// Ordinal and multi-label jobs with LibTorch: the losses and scores against their definitions,
// real training that learns a grade and two findings, and the site trainer reporting, refusing
// and exporting by task.
#include <cmath>
#include <random>
#include <set>

#include "models/model_registry.h"
#include "models/model_weights.h"
#include "models/torchscript_model.h"
#include "tests/catch_after_torch.h"  // last: see the header
#include "tests/test_support.h"
#include "tests/tiny_training.h"
#include "training/confident_learning.h"
#include "training/label_audit.h"
#include "training/label_loss.h"
#include "training/local_training.h"
#include "training/torch_trainer.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

// 16 px images of grade i % 4: the top 2 + 3 x grade rows are bright, over noise. Per-image
// standardisation keeps what differs: how much of the image is bright.
ImageSet graded_images(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.0f, 0.15f);
  ImageSet data;
  data.image_size = 16;
  for (int i = 0; i < count; ++i) {
    const int grade = i % 4;
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x)
        data.pixels.push_back((y < 2 + 3 * grade ? 0.8f : 0.1f) + noise(rng));
    }
    data.labels.push_back(grade);
  }
  return data;
}

// 16 px images with finding 0 (a bright horizontal line) and / or finding 1 (a bright vertical
// line) at a random place: labels are the bit sets 0, 1, 2, 3 in turn.
ImageSet line_images(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.0f, 0.3f);
  std::uniform_int_distribution<int> place(2, 13);
  ImageSet data;
  data.image_size = 16;
  for (int i = 0; i < count; ++i) {
    const int64_t findings = i % 4;
    const int row = place(rng), column = place(rng);
    for (int y = 0; y < 16; ++y) {
      for (int x = 0; x < 16; ++x) {
        const bool line =
            (has_finding(findings, 0) && y == row) || (has_finding(findings, 1) && x == column);
        data.pixels.push_back((line ? 1.0f : 0.0f) + noise(rng));
      }
    }
    data.labels.push_back(findings);
  }
  return data;
}

TrainingOptions adam(LabelTask task, int classes, int epochs) {
  TrainingOptions o;
  o.epochs = epochs;
  o.batch_size = 16;
  o.optimizer = "adam";
  o.learning_rate = 0.01;
  o.task = task;
  o.classes = classes;
  o.seed = 4;
  return o;
}

}  // namespace

TEST_CASE("the ordinal loss is the summed binary cross-entropy of the thresholds", "[labels]") {
  const torch::Tensor logits = torch::tensor({{2.0f, 0.5f, -1.0f}, {-0.5f, -1.5f, -3.0f}});
  const torch::Tensor grades = torch::tensor({2, 0}, torch::kInt64);
  // Image 0 is grade 2: targets 1, 1, 0; image 1 is grade 0: targets 0, 0, 0.
  auto bce = [](double z, double t) {
    return -(t * std::log(1 / (1 + std::exp(-z))) + (1 - t) * std::log(1 - 1 / (1 + std::exp(-z))));
  };
  const double image0 = bce(2.0, 1) + bce(0.5, 1) + bce(-1.0, 0);
  const double image1 = bce(-0.5, 0) + bce(-1.5, 0) + bce(-3.0, 0);
  CHECK(label_loss(LabelTask::ordinal, logits, grades).item<double>() ==
        Approx((image0 + image1) / 2).epsilon(1e-5));
  CHECK(label_loss(LabelTask::ordinal, logits, grades, true).item<double>() ==
        Approx(image0 + image1).epsilon(1e-5));
  // Multi-label: bit sets 0b101 and 0b010, the mean over findings of each image's BCE.
  const torch::Tensor findings = torch::tensor({5, 2}, torch::kInt64);
  const double ml0 = (bce(2.0, 1) + bce(0.5, 0) + bce(-1.0, 1)) / 3;
  const double ml1 = (bce(-0.5, 0) + bce(-1.5, 1) + bce(-3.0, 0)) / 3;
  CHECK(label_loss(LabelTask::multilabel, logits, findings).item<double>() ==
        Approx((ml0 + ml1) / 2).epsilon(1e-5));
}

TEST_CASE("ordinal scores are a distribution over grades even when thresholds disagree",
          "[labels]") {
  // P(> 0) = sigmoid(-1) is below P(> 1) = sigmoid(1): made non-increasing before differencing.
  const torch::Tensor p = label_scores(LabelTask::ordinal, torch::tensor({{-1.0f, 1.0f, 0.0f}}));
  REQUIRE(p.sizes() == torch::IntArrayRef({1, 4}));
  CHECK(p.sum().item<double>() == Approx(1.0));
  CHECK(p.min().item<double>() >= 0.0);
  const double above0 = 1 / (1 + std::exp(1.0));
  CHECK(p[0][0].item<double>() == Approx(1 - above0));
  CHECK(p[0][1].item<double>() == Approx(0.0).margin(1e-7));  // P(> 1) capped at P(> 0)
  const torch::Tensor m = label_scores(LabelTask::multilabel, torch::tensor({{0.0f, 2.0f}}));
  CHECK(m[0][0].item<double>() == Approx(0.5));
}

TEST_CASE("an ordinal model learns a grade and a multi-label model two findings", "[labels]") {
  SECTION("ordinal: four grades, three threshold outputs") {
    ModelSpec spec{"cnn-small", 4, 16, 2, LabelTask::ordinal};
    auto model = create_model(spec);
    CHECK(model->forward(torch::zeros({1, 1, 16, 16})).size(1) == 3);
    const ImageSet held_out = graded_images(40, 99);
    const Evaluation before = evaluate(*model, held_out, LabelTask::ordinal, 4);
    train_epochs(*model, graded_images(96, 1), adam(LabelTask::ordinal, 4, 25));
    const Evaluation after = evaluate(*model, held_out, LabelTask::ordinal, 4);
    CHECK(after.metrics.quadratic_weighted_kappa > 0.9);
    CHECK(after.metrics.within_one_accuracy > 0.95);
    CHECK(after.loss < before.loss);
    CHECK(!(before.metrics.quadratic_weighted_kappa > 0.9));
  }
  SECTION("multilabel: two findings, present alone or together") {
    ModelSpec spec{"cnn-small", 2, 16, 2, LabelTask::multilabel};
    auto model = create_model(spec);
    const ImageSet held_out = line_images(40, 99);
    train_epochs(*model, line_images(96, 1), adam(LabelTask::multilabel, 2, 25));
    const Evaluation after = evaluate(*model, held_out, LabelTask::multilabel, 2);
    REQUIRE(after.metrics.label_auc.size() == 2);
    CHECK(after.metrics.label_auc[0] > 0.9);
    CHECK(after.metrics.label_auc[1] > 0.9);
    CHECK(after.metrics.average_precision > 0.9);
  }
}

TEST_CASE("a site trains an ordinal job, reports kappa and refuses a task its data cannot serve",
          "[labels]") {
  TempDir dir;
  TrainHeldOut split{graded_images(48, 1), graded_images(16, 2)};
  ModelSpec spec{"cnn-small", 4, 16, 3, LabelTask::ordinal};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  CHECK(global.manifest.task() == "ordinal");
  CHECK(global.manifest.classes() == 4);
  wire::JobSpec job = tiny_job("adam", 0.01, 2);
  job.set_task("ordinal");
  job.set_classes(4);
  auto go = [](const std::string&, double) { return true; };
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  const TrainingResult r = trainer.train(job, 1, global, go);
  CHECK(r.model.manifest.task() == "ordinal");
  // What the site reports is its trained model's kappa and MAE on its held-out split.
  const Evaluation trained =
      evaluate(*model_from_blob(r.model), split.held_out, LabelTask::ordinal, 4);
  CHECK(r.metrics.held_out_kappa() == Approx(trained.metrics.quadratic_weighted_kappa));
  CHECK(r.metrics.held_out_mae() == Approx(trained.metrics.mean_absolute_error));
  CHECK(r.metrics.held_out_auc() == Approx(trained.metrics.roc_auc));
  const Evaluation received =
      evaluate(*model_from_blob(global), split.held_out, LabelTask::ordinal, 4);
  CHECK(r.metrics.global_held_out_kappa() == Approx(received.metrics.quadratic_weighted_kappa));
  CHECK(r.metrics.held_out_label_auc_size() == 0);
  // The pooled model leaves as TorchScript that says what its outputs mean.
  export_torchscript(r.model, dir.path + "/m.pt");
  const LoadedTorchScript loaded = load_torchscript(dir.path + "/m.pt");
  CHECK(loaded.task == LabelTask::ordinal);
  CHECK(loaded.classes == 4);
  CHECK(loaded.model->forward(torch::zeros({2, 1, 16, 16})).sizes() == torch::IntArrayRef({2, 3}));
  // A multi-label job on one-class-per-image data, and the reverse, are refused with the fix.
  job.set_task("multilabel");
  CHECK_THROWS_WITH(trainer.train(job, 1, global, go),
                    Catch::Contains("list the job's finding columns in data.label_columns"));
  TorchTrainer findings(std::make_shared<InMemoryDataSource>(split, /*multilabel=*/true));
  job.set_task("ordinal");
  CHECK_THROWS_WITH(findings.train(job, 1, global, go),
                    Catch::Contains("the job's task is ordinal"));
}

namespace {

// 32 px images with a bright disc (radius 5-9, anywhere) over noise; the mask is the disc.
ImageSet disc_images(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(0.0f, 0.4f);
  std::uniform_int_distribution<int> centre(9, 22), radius(5, 9);
  ImageSet data;
  data.image_size = 32;
  for (int i = 0; i < count; ++i) {
    const int cx = centre(rng), cy = centre(rng), r = radius(rng);
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        const bool inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) <= r * r;
        data.pixels.push_back((inside ? 0.7f : 0.1f) + noise(rng));
        data.masks.push_back(uint8_t(inside));
      }
    }
    data.labels.push_back(0);
  }
  return data;
}

}  // namespace

TEST_CASE("the segmentation loss is pixel cross-entropy plus one minus the soft Dice",
          "[segmentation]") {
  // One 1 x 2 image, two classes: pixel 0 background, pixel 1 foreground.
  const torch::Tensor logits = torch::tensor({{{{1.0f, -1.0f}}, {{0.0f, 2.0f}}}});  // [1, 2, 1, 2]
  const torch::Tensor mask = torch::tensor({{{0, 1}}}, torch::kInt64);              // [1, 1, 2]
  const double p0 = std::exp(0.0) / (std::exp(1.0) + std::exp(0.0));   // P(fg) at pixel 0
  const double p1 = std::exp(2.0) / (std::exp(-1.0) + std::exp(2.0));  // P(fg) at pixel 1
  const double cross_entropy = (-std::log(1 - p0) - std::log(p1)) / 2;
  const double dice = (2 * p1 + 1) / (p0 + p1 + 1 + 1);
  CHECK(label_loss(LabelTask::segmentation, logits, mask).item<double>() ==
        Approx(cross_entropy + 1 - dice).epsilon(1e-5));
  const torch::Tensor scores = label_scores(LabelTask::segmentation, logits);
  CHECK(scores.sum(1).min().item<double>() == Approx(1.0));
}

TEST_CASE("a U-Net learns to segment, and segmenters and classifiers refuse each other's jobs",
          "[segmentation]") {
  ModelSpec spec{"unet-small", 2, 32, 5, LabelTask::segmentation};
  auto model = create_model(spec);
  CHECK(model->forward(torch::zeros({2, 1, 32, 32})).sizes() == torch::IntArrayRef({2, 2, 32, 32}));
  CHECK_THROWS_WITH(create_model({"unet-small", 2, 36, 5, LabelTask::segmentation}),
                    Catch::Contains("image_size a multiple of 8"));
  CHECK_THROWS_WITH(create_model({"unet-small", 2, 32, 5, LabelTask::classification}),
                    Catch::Contains("use it with task: segmentation"));
  CHECK_THROWS_WITH(create_model({"cnn-small", 2, 32, 5, LabelTask::segmentation}),
                    Catch::Contains("a segmentation job needs unet-small or unet"));
  const ImageSet held_out = disc_images(16, 99);
  const Evaluation before = evaluate(*model, held_out, LabelTask::segmentation, 2);
  TrainingOptions o = adam(LabelTask::segmentation, 2, 12);
  o.augmentation.enabled = true;  // the masks move with the images
  train_epochs(*model, disc_images(64, 1), o);
  const Evaluation after = evaluate(*model, held_out, LabelTask::segmentation, 2);
  CHECK(after.metrics.dice > 0.85);
  CHECK(after.metrics.dice > before.metrics.dice);
  CHECK(after.metrics.hausdorff95 < 4.0);
  CHECK(after.loss < before.loss);
}

TEST_CASE("a site trains a segmentation job, reports Dice, and its model exports per-pixel "
          "logits", "[segmentation]") {
  TempDir dir;
  TrainHeldOut split{disc_images(16, 1), disc_images(8, 2)};
  ModelSpec spec{"unet-small", 2, 32, 3, LabelTask::segmentation};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  wire::JobSpec job = tiny_job("adam", 0.01, 1);
  job.set_model("unet-small");
  job.set_task("segmentation");
  job.set_image_size(32);
  auto go = [](const std::string&, double) { return true; };
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  const TrainingResult r = trainer.train(job, 1, global, go);
  const Evaluation trained =
      evaluate(*model_from_blob(r.model), split.held_out, LabelTask::segmentation, 2);
  CHECK(r.metrics.held_out_dice() == Approx(trained.metrics.dice));
  CHECK(r.metrics.held_out_hausdorff95() == Approx(trained.metrics.hausdorff95).margin(1e-9));
  export_torchscript(r.model, dir.path + "/unet.pt");
  const LoadedTorchScript loaded = load_torchscript(dir.path + "/unet.pt");
  CHECK(loaded.task == LabelTask::segmentation);
  CHECK(loaded.model->forward(torch::zeros({1, 1, 32, 32})).sizes() ==
        torch::IntArrayRef({1, 2, 32, 32}));
  // A classification job on data with masks is refused, and a segmentation job on data without.
  job.set_task("classification");
  job.set_model("cnn-small");
  CHECK_THROWS_WITH(trainer.train(job, 1, global, go), Catch::Contains("drop data.mask_column"));
  TorchTrainer no_masks(std::make_shared<InMemoryDataSource>(TrainHeldOut{graded_images(8, 1), graded_images(4, 2)}));
  job.set_task("segmentation");
  CHECK_THROWS_WITH(no_masks.train(job, 1, global, go), Catch::Contains("name the mask column in data.mask_column"));
}

TEST_CASE("a label audit finds flipped labels from out-of-fold predictions", "[label-audit]") {
  // The pooled model learnt the grades elsewhere; this site has 48 images, three of them with a
  // wrong label.
  ModelSpec spec{"cnn-small", 4, 16, 2, LabelTask::classification};
  auto trained = create_model(spec);
  train_epochs(*trained, graded_images(96, 7), adam(LabelTask::classification, 4, 20));
  const ModelBlob pooled = export_weights(*trained, spec);
  ImagePool site = pool_without_patients(graded_images(48, 8));
  for (std::size_t i : {5u, 18u, 33u}) site.images.labels[i] = (site.images.labels[i] + 2) % 4;
  const std::vector<float> p =
      out_of_fold_probabilities(pooled, site, 4, adam(LabelTask::classification, 4, 2));
  REQUIRE(p.size() == 48 * 4);
  const LabelIssues issues = find_label_issues(p, site.images.labels, 4);
  std::set<std::size_t> flagged;
  for (const auto& s : issues.suspects) flagged.insert(s.image);
  CHECK(flagged.count(5) == 1);
  CHECK(flagged.count(18) == 1);
  CHECK(flagged.count(33) == 1);
  CHECK(flagged.size() <= 6);
  CHECK_THROWS_WITH(out_of_fold_probabilities(pooled, site, 1, adam(LabelTask::classification, 4, 1)),
                    Catch::Contains("at least 2 folds"));
}

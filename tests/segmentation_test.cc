// Segmentation, torch-free: overlap and surface-distance metrics against values worked out with
// NumPy (MedPy's definitions), mask resizing, and masks moving with their augmented images.
#include <catch2/catch.hpp>

#include <cmath>

#include "base/error.h"
#include "config/job_config.h"
#include "data/segmentation_mask.h"
#include "training/batch_pipeline.h"
#include "training/segmentation_metrics.h"

using namespace fedxray;

namespace {

// An 8 x 8 mask with class `cls` on rows [y0, y1) x columns [x0, x1).
std::vector<uint8_t> box(int y0, int y1, int x0, int x1, uint8_t cls = 1) {
  std::vector<uint8_t> m(64, 0);
  for (int y = y0; y < y1; ++y) {
    for (int x = x0; x < x1; ++x) m[std::size_t(y * 8 + x)] = cls;
  }
  return m;
}

}  // namespace

TEST_CASE("Dice, IoU, HD95 and surface distance of two masks match the NumPy computation",
          "[segmentation][metrics]") {
  // Truth: a 4 x 4 square. Prediction: a 3 x 3 square in the corner, overlapping one pixel, and a
  // stray pixel at (7, 7). 12 and 9 boundary pixels; distances computed by brute force in NumPy.
  const std::vector<uint8_t> truth = box(2, 6, 2, 6);
  std::vector<uint8_t> predicted = box(0, 3, 0, 3);
  predicted[63] = 1;
  const MaskComparison m = compare_masks(predicted.data(), truth.data(), 8, 1);
  CHECK(m.dice == Approx(2.0 / 26.0));
  CHECK(m.iou == Approx(1.0 / 25.0));
  CHECK(m.hausdorff95 == Approx(3.605551275463989));
  CHECK(m.mean_surface_distance == Approx(2.1187178666906137));
  // The same square shifted by one pixel: 12 of 16 pixels shared.
  const MaskComparison shifted = compare_masks(box(2, 6, 3, 7).data(), truth.data(), 8, 1);
  CHECK(shifted.dice == Approx(0.75));
  CHECK(shifted.iou == Approx(0.6));
  CHECK(shifted.hausdorff95 == Approx(1.0));
  CHECK(shifted.mean_surface_distance == Approx(0.5));
  // Identical masks: perfect. A class in neither: undefined. In one only: Dice 0, no distance.
  const MaskComparison same = compare_masks(truth.data(), truth.data(), 8, 1);
  CHECK(same.dice == 1.0);
  CHECK(same.hausdorff95 == 0.0);
  CHECK(std::isnan(compare_masks(truth.data(), truth.data(), 8, 2).dice));
  const MaskComparison missed = compare_masks(box(0, 0, 0, 0).data(), truth.data(), 8, 1);
  CHECK(missed.dice == 0.0);
  CHECK(std::isnan(missed.hausdorff95));
}

TEST_CASE("a split's segmentation metrics average over images and foreground classes",
          "[segmentation][metrics]") {
  std::vector<uint8_t> truth = box(2, 6, 2, 6), predicted = box(2, 6, 3, 7);
  const std::vector<uint8_t> second = box(0, 2, 0, 8, 2);  // image 2: class 2 only, found exactly
  truth.insert(truth.end(), second.begin(), second.end());
  predicted.insert(predicted.end(), second.begin(), second.end());
  const ClassificationMetrics m = compute_segmentation_metrics(predicted, truth, 3, 8);
  CHECK(m.task == LabelTask::segmentation);
  CHECK(m.count == 2);
  // (image 1, class 1) 0.75 and (image 2, class 2) 1; class 2 in image 1 and class 1 in image 2
  // are in neither mask and left out.
  CHECK(m.dice == Approx((0.75 + 1.0) / 2));
  CHECK(m.headline() == Approx(0.875));
  CHECK(m.accuracy == Approx((128.0 - 8.0) / 128.0));  // 4 + 4 pixels wrong in image 1
  CHECK(m.confusion[1][0] == 4);
  CHECK(m.confusion[0][1] == 4);
  CHECK_THROWS_WITH(compute_segmentation_metrics(predicted, truth, 2, 8),
                    Catch::Contains("pixel class 2 is outside the 2 classes"));
}

TEST_CASE("masks resize like their images and refuse values that are no class", "[segmentation]") {
  // 4 x 4, 0/255: the left three columns of the top half are foreground.
  GrayImage mask{4, 4, std::vector<float>(16, 0.0f)};
  for (int y = 0; y < 2; ++y) {
    for (int x = 0; x < 3; ++x) mask.pixels[std::size_t(y * 4 + x)] = 1.0f;
  }
  // Halving: each target pixel takes the class with the larger share of its 2 x 2 source box; the
  // top-right box is half and half, and the first class with the largest share (background) wins.
  CHECK(resize_mask(mask, 2, 2) == std::vector<uint8_t>{1, 0, 0, 0});
  GrayImage indices{2, 1, {0.0f, 3.0f / 255.0f}};
  CHECK(resize_mask(indices, 4, 2) == std::vector<uint8_t>{0, 3, 0, 3});
  CHECK_THROWS_WITH(resize_mask(indices, 3, 2), Catch::Contains("mask value 3 is not one of the "
                                                                "job's 3 classes"));
}

TEST_CASE("an augmented mask moves exactly as its augmented image does", "[segmentation]") {
  // A binary image that equals its mask, augmented with the same seed and no intensity jitter:
  // thresholding the moved image at one half gives the moved mask.
  const int size = 16;
  std::vector<uint8_t> mask(size * size, 0);
  std::vector<float> image(size * size, 0.0f);
  for (int y = 3; y < 11; ++y) {
    for (int x = 5; x < 14; ++x)
      mask[std::size_t(y * size + x)] = 1, image[std::size_t(y * size + x)] = 1.0f;
  }
  Augmentation aug;
  aug.enabled = true;
  aug.brightness = 0;
  aug.contrast = 0;
  int differ = 0, moved = 0;
  for (uint64_t seed = 1; seed <= 8; ++seed) {
    std::vector<float> moved_image(mask.size());
    std::vector<int64_t> moved_mask(mask.size());
    augment_image(image.data(), size, aug, seed, moved_image.data());
    augment_mask(mask.data(), size, 2, aug, seed, moved_mask.data());
    for (std::size_t i = 0; i < mask.size(); ++i) {
      differ += int(moved_image[i] > 0.5f) != int(moved_mask[i]);
      moved += int(moved_mask[i]) != int(mask[i]);
    }
  }
  CHECK(differ == 0);
  CHECK(moved > 0);  // the augmentations did move it
}

TEST_CASE("a segmentation job is chosen by task", "[segmentation][config]") {
  const JobConfig job = parse_job_config(
      "job:\n  name: lungs\n  model: unet-small\n  task: segmentation\n  classes: 2\n"
      "  image_size: 64\n  rounds: 1\n  sites_per_round: 1\n",
      "job.yaml");
  CHECK(job.task == "segmentation");
}

// Background batch preparation: deterministic whatever the threads, complete epochs, and
// augmentation that changes pixels but not labels.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "training/batch_pipeline.h"
#include "data/synthetic_radiographs.h"

using namespace fedxray;

namespace {

std::vector<Batch> drain(const ImageSet& data, int threads, bool augment) {
  Augmentation aug;
  aug.enabled = augment;
  BatchPipeline pipeline(data, 7, 3, 42, aug, threads, 3);
  std::vector<Batch> out;
  Batch b;
  while (pipeline.next(b)) out.push_back(b);
  return out;
}

}  // namespace

TEST_CASE("batches are identical with 1 or 4 worker threads", "[pipeline]") {
  ImageSet data = generate_synthetic_radiographs({50, 3, 16, 1, 0.0});
  auto one = drain(data, 1, true), four = drain(data, 4, true);
  REQUIRE(one.size() == four.size());
  for (std::size_t i = 0; i < one.size(); ++i) {
    CHECK(one[i].labels == four[i].labels);
    CHECK(one[i].pixels == four[i].pixels);
  }
}

TEST_CASE("each epoch visits every image once and the last batch is partial", "[pipeline]") {
  ImageSet data = generate_synthetic_radiographs({50, 3, 16, 1, 0.0});
  auto batches = drain(data, 2, false);
  REQUIRE(batches.size() == 3 * 8);  // ceil(50 / 7) per epoch
  CHECK(batches[7].count == 1);
  CHECK(batches.back().fraction_done == Approx(1.0));
  std::vector<int64_t> seen, expected = data.labels;
  for (std::size_t b = 0; b < 8; ++b) seen.insert(seen.end(), batches[b].labels.begin(), batches[b].labels.end());
  std::sort(seen.begin(), seen.end());
  std::sort(expected.begin(), expected.end());
  CHECK(seen == expected);
}

TEST_CASE("augmentation changes pixels, keeps labels, and is the identity when neutral", "[pipeline]") {
  ImageSet data = generate_synthetic_radiographs({20, 2, 16, 3, 0.0});
  auto plain = drain(data, 2, false), augmented = drain(data, 2, true);
  CHECK(plain[0].labels == augmented[0].labels);
  CHECK(plain[0].pixels != augmented[0].pixels);

  Augmentation neutral;
  neutral.enabled = true;
  neutral.min_crop_area = 1.0;
  neutral.max_rotation_deg = 0;
  neutral.brightness = 0;
  neutral.contrast = 0;
  std::vector<float> out(256);
  augment_image(data.image(0), 16, neutral, 9, out.data());
  for (std::size_t i = 0; i < out.size(); ++i) CHECK(out[i] == Approx(data.image(0)[i]).margin(1e-5));
}

TEST_CASE("standardised images have zero mean and unit variance", "[pipeline]") {
  std::vector<float> img = {0.1f, 0.2f, 0.3f, 0.9f};
  standardise(img.data(), img.size());
  double mean = 0, var = 0;
  for (float v : img) mean += v;
  mean /= 4;
  for (float v : img) var += (v - mean) * (v - mean);
  CHECK(mean == Approx(0.0).margin(1e-6));
  CHECK(var / 4 == Approx(1.0).epsilon(1e-4));
  std::vector<float> flat(9, 0.5f);
  standardise(flat.data(), flat.size());
  for (float v : flat) CHECK(v == 0.0f);
}

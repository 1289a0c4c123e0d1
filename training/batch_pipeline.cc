#include "training/batch_pipeline.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace fedxray {

void standardise(float* p, std::size_t n) {
  double sum = 0, sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    sum += p[i];
    sq += double(p[i]) * p[i];
  }
  const double mean = sum / double(n);
  const double sd = std::sqrt(std::max(sq / double(n) - mean * mean, 0.0));
  const float scale = float(1.0 / std::max(sd, 1e-3));
  for (std::size_t i = 0; i < n; ++i) p[i] = (p[i] - float(mean)) * scale;
}

void augment_image(const float* in, int size, const Augmentation& aug, uint64_t seed, float* out) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  // Random resized crop: a box of area in [min_crop_area, 1] and aspect in [3/4, 4/3].
  const double area = aug.min_crop_area + (1.0 - aug.min_crop_area) * u(rng);
  // Aspect limited to [area, 1/area] so the box always fits inside the image undistorted.
  const double lo = std::log(std::max(0.75, area)), hi = std::log(std::min(4.0 / 3.0, 1.0 / area));
  const double aspect = std::exp(lo + (hi - lo) * u(rng));
  const double cw = std::sqrt(area * aspect), ch = std::sqrt(area / aspect);
  const double cx = (1.0 - cw) * u(rng) + cw / 2, cy = (1.0 - ch) * u(rng) + ch / 2;
  const double angle = (2 * u(rng) - 1) * aug.max_rotation_deg * M_PI / 180.0;
  const double brightness = (2 * u(rng) - 1) * aug.brightness;
  const double contrast = 1.0 + (2 * u(rng) - 1) * aug.contrast;
  const double c = std::cos(angle), s = std::sin(angle);
  double mean = 0;
  for (int i = 0; i < size * size; ++i) mean += in[i];
  mean /= double(size) * size;
  auto at = [&](int x, int y) {
    x = std::clamp(x, 0, size - 1);
    y = std::clamp(y, 0, size - 1);
    return double(in[y * size + x]);
  };
  for (int oy = 0; oy < size; ++oy) {
    for (int ox = 0; ox < size; ++ox) {
      // Output pixel -> crop box (rotated about its centre) -> source pixel, bilinear.
      const double nx = ((ox + 0.5) / size - 0.5) * cw, ny = ((oy + 0.5) / size - 0.5) * ch;
      const double sx = (cx + c * nx - s * ny) * size - 0.5, sy = (cy + s * nx + c * ny) * size - 0.5;
      const int x0 = int(std::floor(sx)), y0 = int(std::floor(sy));
      const double ax = sx - x0, ay = sy - y0;
      const double v = (1 - ay) * ((1 - ax) * at(x0, y0) + ax * at(x0 + 1, y0)) +
                       ay * ((1 - ax) * at(x0, y0 + 1) + ax * at(x0 + 1, y0 + 1));
      out[oy * size + ox] = float((v - mean) * contrast + mean + brightness);
    }
  }
}

void augment_mask(const uint8_t* in, int size, int classes, const Augmentation& aug, uint64_t seed,
                  int64_t* out) {
  Augmentation geometric = aug;  // the same random draws, without the intensity jitter
  geometric.brightness = 0;
  geometric.contrast = 0;
  const std::size_t n = std::size_t(size) * std::size_t(size);
  std::vector<float> indicator(n), share(n), best(n, -1.0f);
  for (int c = 0; c < classes; ++c) {
    for (std::size_t i = 0; i < n; ++i) indicator[i] = in[i] == c ? 1.0f : 0.0f;
    augment_image(indicator.data(), size, geometric, seed, share.data());
    for (std::size_t i = 0; i < n; ++i) {
      if (share[i] > best[i]) best[i] = share[i], out[i] = c;
    }
  }
}

BatchPipeline::BatchPipeline(const ImageSet& data, int batch_size, int epochs, uint64_t seed,
                             Augmentation augmentation, int threads, int prefetch)
    : data_(data),
      batch_size_(std::size_t(std::max(1, batch_size))),
      per_epoch_((data.count() + batch_size_ - 1) / batch_size_),
      total_(per_epoch_ * std::size_t(std::max(0, epochs))),
      seed_(seed),
      aug_(augmentation),
      prefetch_(std::size_t(std::max(1, prefetch))) {
  for (uint8_t c : data.masks) mask_classes_ = std::max(mask_classes_, int(c) + 1);
  std::vector<std::size_t> order(data.count());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  for (int e = 0; e < epochs; ++e) {
    std::shuffle(order.begin(), order.end(), rng);
    orders_.push_back(order);
  }
  for (int t = 0; t < std::max(1, threads); ++t) workers_.emplace_back([this] { work(); });
}

BatchPipeline::~BatchPipeline() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& w : workers_) w.join();
}

Batch BatchPipeline::make(std::size_t index) const {
  const std::size_t epoch = index / per_epoch_, b = index % per_epoch_;
  const auto& order = orders_[epoch];
  const std::size_t begin = b * batch_size_, end = std::min(order.size(), begin + batch_size_);
  const int size = data_.image_size;
  const std::size_t n = std::size_t(size) * std::size_t(size);
  Batch batch;
  batch.count = end - begin;
  batch.pixels.resize(batch.count * n);
  batch.fraction_done = double(index + 1) / double(total_);
  for (std::size_t k = begin; k < end; ++k) {
    float* dst = batch.pixels.data() + (k - begin) * n;
    const float* src = data_.image(order[k]);
    if (aug_.enabled) {
      augment_image(src, size, aug_, seed_ ^ (uint64_t(index) << 24) ^ uint64_t(k), dst);
    } else {
      std::copy(src, src + n, dst);
    }
    standardise(dst, n);
    batch.labels.push_back(data_.labels[order[k]]);
    if (data_.has_masks()) {
      batch.masks.resize(batch.count * n);
      const uint8_t* mask = data_.mask(order[k]);
      int64_t* mask_dst = batch.masks.data() + (k - begin) * n;
      if (aug_.enabled) {
        augment_mask(mask, size, mask_classes_, aug_, seed_ ^ (uint64_t(index) << 24) ^ uint64_t(k),
                     mask_dst);
      } else {
        std::copy(mask, mask + n, mask_dst);
      }
    }
  }
  return batch;
}

void BatchPipeline::work() {
  for (;;) {
    std::size_t index;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] {
        return stopping_ || (next_to_make_ < total_ && next_to_make_ < next_to_hand_out_ + prefetch_);
      });
      if (stopping_) return;
      index = next_to_make_++;
    }
    Batch batch = make(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(index, std::move(batch));
    }
    cv_.notify_all();
  }
}

bool BatchPipeline::next(Batch& out) {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_to_hand_out_ >= total_) return false;
  cv_.wait(lock, [&] { return ready_.count(next_to_hand_out_) > 0; });
  auto it = ready_.find(next_to_hand_out_);
  out = std::move(it->second);
  ready_.erase(it);
  ++next_to_hand_out_;
  cv_.notify_all();
  return true;
}

}  // namespace fedxray

#include "data/image_set.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

namespace fedxray {

void ImageSet::append(const ImageSet& other, std::size_t i) {
  const std::size_t n = std::size_t(image_size) * std::size_t(image_size);
  pixels.insert(pixels.end(), other.image(i), other.image(i) + n);
  labels.push_back(other.labels[i]);
  if (other.has_masks()) masks.insert(masks.end(), other.mask(i), other.mask(i) + n);
}

TrainHeldOut split_held_out(const ImageSet& all, double fraction, uint64_t seed) {
  std::vector<std::size_t> order(all.count());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::size_t held = std::size_t(double(order.size()) * fraction + 0.5);
  if (order.size() >= 2) held = std::clamp<std::size_t>(held, 1, order.size() - 1);
  TrainHeldOut out;
  out.train.image_size = out.held_out.image_size = all.image_size;
  for (std::size_t k = 0; k < order.size(); ++k) {
    (k < held ? out.held_out : out.train).append(all, order[k]);
  }
  return out;
}

ImagePool pool_without_patients(ImageSet images) {
  ImagePool pool{std::move(images), {}};
  for (std::size_t i = 0; i < pool.images.count(); ++i) pool.patients.push_back(std::to_string(i));
  return pool;
}

ImagePool pool_without_patients(TrainHeldOut split) {
  for (std::size_t i = 0; i < split.held_out.count(); ++i) split.train.append(split.held_out, i);
  return pool_without_patients(std::move(split.train));
}

TrainHeldOut split_held_out_by_group(const ImageSet& all, const std::vector<std::string>& groups,
                                     double fraction, uint64_t seed) {
  std::map<std::string, std::vector<std::size_t>> members;
  for (std::size_t i = 0; i < all.count(); ++i) members[groups[i]].push_back(i);
  std::vector<const std::vector<std::size_t>*> order;
  for (const auto& [key, idx] : members) order.push_back(&idx);  // sorted by key: deterministic
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  const std::size_t target = std::size_t(double(all.count()) * fraction + 0.5);
  TrainHeldOut out;
  out.train.image_size = out.held_out.image_size = all.image_size;
  std::size_t held = 0;
  for (std::size_t g = 0; g < order.size(); ++g) {
    // Keep at least one group for training.
    const bool to_held_out = held < target && g + 1 < order.size();
    for (std::size_t i : *order[g]) (to_held_out ? out.held_out : out.train).append(all, i);
    if (to_held_out) held += order[g]->size();
  }
  return out;
}

}  // namespace fedxray

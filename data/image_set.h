// ImageSet: a site's images in memory, torch-free — `count` square grayscale images of
// `image_size` pixels, values in [0, 1], stored row-major back to back, with integer labels
// (a class, a grade or a bit set of findings: wire/label_task.h) or, for segmentation, masks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

struct ImageSet {
  int image_size = 0;
  std::vector<float> pixels;   // count * image_size * image_size
  std::vector<int64_t> labels;   // per image; 0 for segmentation images
  // Segmentation: count * image_size * image_size pixel classes (0 = background), else empty.
  std::vector<uint8_t> masks;

  std::size_t count() const { return labels.size(); }
  bool has_masks() const { return !masks.empty(); }
  const uint8_t* mask(std::size_t i) const {
    return masks.data() + i * std::size_t(image_size) * std::size_t(image_size);
  }
  const float* image(std::size_t i) const {
    return pixels.data() + i * std::size_t(image_size) * std::size_t(image_size);
  }
  // Appends image i of `other` (same image_size).
  void append(const ImageSet& other, std::size_t i);
};

// Every usable image of a source with its patient key (a unique key per image when the source
// has none), before any split: what a simulation partitions across sites.
struct ImagePool {
  ImageSet images;
  std::vector<std::string> patients;
};

struct TrainHeldOut {
  ImageSet train;
  ImageSet held_out;
};

// A pool in which every image is its own patient (sources without patient keys); the second
// form puts the held-out images after the training ones.
ImagePool pool_without_patients(ImageSet images);
ImagePool pool_without_patients(TrainHeldOut split);

// Deterministic split: the same seed gives the same split. At least one image lands on each
// side when there are two or more.
TrainHeldOut split_held_out(const ImageSet& all, double held_out_fraction, uint64_t seed);

// Like split_held_out, but whole groups (patients) go to one side: no patient's images are in
// both. groups[i] is image i's patient key. Groups are shuffled by seed and moved to the
// held-out side until it holds about `held_out_fraction` of the images.
TrainHeldOut split_held_out_by_group(const ImageSet& all, const std::vector<std::string>& groups,
                                     double held_out_fraction, uint64_t seed);

}  // namespace fedxray

// BatchPipeline: prepares training batches on background threads so the trainer never waits.
//
// Images are already decoded and resized once (ImageSet); per batch, workers shuffle-select,
// optionally augment (seeded random resized crop, small rotation, brightness/contrast jitter;
// a segmentation mask moves with its image) and standardise each image (zero mean, unit
// variance), keeping up to `prefetch` batches ready.
// Each batch's randomness is seeded by (seed, epoch, batch index), so the batches are the same
// whatever the thread timing. One consumer thread calls next(); destruction stops the workers.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "data/image_set.h"

namespace fedxray {

struct Augmentation {
  bool enabled = false;
  double min_crop_area = 0.75;     // random resized crop keeps 75-100% of the area
  double max_rotation_deg = 7.0;
  double brightness = 0.1;         // +- shift, in image intensity units
  double contrast = 0.15;          // x (1 +- contrast) around the image mean
};

struct Batch {
  std::size_t count = 0;
  std::vector<float> pixels;  // count x size x size, standardised
  std::vector<int64_t> labels;
  std::vector<int64_t> masks;  // segmentation: count x size x size pixel classes, else empty
  double fraction_done = 0;   // through the whole run, for progress reports
};

class BatchPipeline {
 public:
  BatchPipeline(const ImageSet& data, int batch_size, int epochs, uint64_t seed,
                Augmentation augmentation, int threads = 2, int prefetch = 4);
  ~BatchPipeline();
  BatchPipeline(const BatchPipeline&) = delete;
  BatchPipeline& operator=(const BatchPipeline&) = delete;

  // The next batch in order; false when all epochs are done.
  bool next(Batch& out);
  std::size_t batches_per_epoch() const { return per_epoch_; }

 private:
  void work();
  Batch make(std::size_t index) const;

  const ImageSet& data_;
  std::size_t batch_size_;
  std::size_t per_epoch_;
  std::size_t total_;
  uint64_t seed_;
  Augmentation aug_;
  std::size_t prefetch_;
  int mask_classes_ = 2;  // segmentation: pixel classes seen in the masks (at least 2)
  std::vector<std::vector<std::size_t>> orders_;  // shuffled image order per epoch

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::size_t, Batch> ready_;
  std::size_t next_to_make_ = 0;
  std::size_t next_to_hand_out_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

// Standardises one image in place: zero mean, unit variance (flat images stay at zero).
void standardise(float* pixels, std::size_t n);
// Applies a seeded augmentation to one size x size image into `out`.
void augment_image(const float* in, int size, const Augmentation& aug, uint64_t seed, float* out);
// Moves a size x size mask of `classes` pixel classes with the geometric part of the same seeded
// augmentation as augment_image (each class's indicator is moved, and a pixel takes the class
// with the largest share), into `out`.
void augment_mask(const uint8_t* in, int size, int classes, const Augmentation& aug, uint64_t seed,
                  int64_t* out);

}  // namespace fedxray

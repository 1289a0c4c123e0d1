// Synthetic radiograph-like images for the quickstart and tests, generated offline and
// deterministically from a seed.
//
// Each image shows a bone shaft (bright cortical rim, darker marrow) at a random angle over
// soft-tissue background with noise. The label is the grade of a cortical erosion: class 0 has
// none, higher classes carry a larger dark notch in the cortex — a stand-in for graded erosion
// scores. `intensity_shift` brightens or darkens everything, like a different scanner.
#pragma once

#include <cstdint>

#include "data/image_set.h"

namespace fedxray {

struct SyntheticSpec {
  int count = 600;
  int classes = 3;
  int image_size = 32;
  uint64_t seed = 1;
  double intensity_shift = 0.0;
};

// Labels are balanced (image i has label i mod classes, before shuffling by seed).
ImageSet generate_synthetic_radiographs(const SyntheticSpec& spec);

// Adds `shift` to every pixel, clamped to [0, 1].
void shift_intensity(ImageSet& images, double shift);

}  // namespace fedxray

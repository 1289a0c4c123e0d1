#include "data/segmentation_mask.h"

#include <cmath>
#include <string>

#include "base/error.h"

namespace fedxray {

std::vector<uint8_t> resize_mask(const GrayImage& mask, int classes, int size) {
  std::vector<int> source(mask.pixels.size());
  for (std::size_t i = 0; i < source.size(); ++i) {
    const float v = mask.pixels[i];
    source[i] = classes == 2 ? int(v >= 0.5f) : int(std::lround(v * 255.0f));
    if (source[i] >= classes) {
      throw Error("mask value " + std::to_string(source[i]) + " is not one of the job's " +
                  std::to_string(classes) +
                  " classes (0/255 for one structure, else class "
                  "indices 0.." +
                  std::to_string(classes - 1) + ")");
    }
  }
  const std::size_t n = std::size_t(size) * std::size_t(size);
  std::vector<uint8_t> out(n, 0);
  std::vector<float> best(n, -1.0f);
  GrayImage indicator{mask.width, mask.height, std::vector<float>(source.size())};
  for (int c = 0; c < classes; ++c) {
    for (std::size_t i = 0; i < source.size(); ++i)
      indicator.pixels[i] = source[i] == c ? 1.0f : 0.0f;
    const std::vector<float> share = resize_square(indicator, size);
    for (std::size_t i = 0; i < n; ++i) {
      if (share[i] > best[i]) best[i] = share[i], out[i] = uint8_t(c);
    }
  }
  return out;
}

}  // namespace fedxray

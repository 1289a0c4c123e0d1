#include "bench/resnet_layout.h"

#include <cstring>
#include <string>

namespace fedxray::bench {
namespace {

wire::ModelManifest layout_for(int64_t width, int64_t classes) {
  wire::ModelManifest m;
  m.set_model("resnet18-layout");
  m.set_classes(uint32_t(classes));
  m.set_image_size(224);
  auto conv = [&](const std::string& name, int64_t out, int64_t in, int64_t k) {
    append_tensor(m, name + ".weight", wire::FLOAT32, {out, in, k, k});
  };
  auto bn = [&](const std::string& name, int64_t c) {
    append_tensor(m, name + ".weight", wire::FLOAT32, {c});
    append_tensor(m, name + ".bias", wire::FLOAT32, {c});
  };
  conv("conv1", width, 1, 7);
  bn("bn1", width);
  int64_t in = width;
  for (int layer = 1; layer <= 4; ++layer) {
    const int64_t c = width << (layer - 1);
    for (int block = 0; block < 2; ++block) {
      const std::string p = "layer" + std::to_string(layer) + "." + std::to_string(block);
      conv(p + ".conv1", c, block == 0 ? in : c, 3);
      bn(p + ".bn1", c);
      conv(p + ".conv2", c, c, 3);
      bn(p + ".bn2", c);
      if (block == 0 && layer > 1) {
        conv(p + ".downsample.0", c, in, 1);
        bn(p + ".downsample.1", c);
      }
    }
    in = c;
  }
  append_tensor(m, "fc.weight", wire::FLOAT32, {classes, in});
  append_tensor(m, "fc.bias", wire::FLOAT32, {classes});
  return m;
}

}  // namespace

int64_t element_count(const wire::ModelManifest& m) { return int64_t(m.total_bytes() / 4); }

wire::ModelManifest resnet18_layout(int64_t target) {
  int64_t width = 1;
  while (element_count(layout_for(width + 1, 2)) <= target) ++width;
  const int64_t base = element_count(layout_for(width, 2));
  const int64_t extra_classes = (target - base) / (8 * width + 1);
  return layout_for(width, 2 + std::max<int64_t>(0, extra_classes));
}

ModelBlob resnet18_like_model(int64_t target, uint64_t seed) {
  ModelBlob blob;
  blob.manifest = resnet18_layout(target);
  blob.bytes.resize(blob.manifest.total_bytes());
  uint64_t state = seed * 0x9E3779B97F4A7C15ULL + 7;
  for (uint64_t i = 0; i < blob.bytes.size(); i += 4) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    float v = float(int64_t(state >> 41) - (int64_t(1) << 22)) / float(1 << 24);
    std::memcpy(blob.bytes.data() + i, &v, 4);
  }
  blob.seal();
  return blob;
}

}  // namespace fedxray::bench

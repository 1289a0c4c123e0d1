// A torch-free stand-in for ResNet-18's weights: the same 62 parameter tensors (names, order,
// shapes) with the base width chosen so the total comes close to a requested parameter count.
// At 11.2M parameters it is ResNet-18 itself (1-channel stem, 2 classes).
#pragma once

#include <cstdint>

#include "wire/model_blob.h"

namespace fedxray::bench {

// Layout only (no bytes).
wire::ModelManifest resnet18_layout(int64_t target_params);
// Layout plus deterministic float32 values, sealed.
ModelBlob resnet18_like_model(int64_t target_params, uint64_t seed);
int64_t element_count(const wire::ModelManifest& manifest);

}  // namespace fedxray::bench

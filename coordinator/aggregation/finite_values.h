// all_finite: whether `count` little-endian elements at `data` hold no NaN or infinity. Integer
// tensors always do. The float test looks at the exponent bits with integer operations, so the
// loop vectorises; both aggregators run it on every update byte as it streams in.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "fedxray/proto/fedxray.pb.h"

namespace fedxray {

template <typename T>
bool all_finite(const char* __restrict data, std::size_t count) {
  if constexpr (std::is_same<T, float>::value) {
    uint32_t bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
      uint32_t bits;
      std::memcpy(&bits, data + i * 4, 4);
      bad |= uint32_t((bits & 0x7f800000u) == 0x7f800000u);
    }
    return bad == 0;
  } else if constexpr (std::is_same<T, double>::value) {
    uint64_t bad = 0;
    for (std::size_t i = 0; i < count; ++i) {
      uint64_t bits;
      std::memcpy(&bits, data + i * 8, 8);
      bad |= uint64_t((bits & 0x7ff0000000000000ull) == 0x7ff0000000000000ull);
    }
    return bad == 0;
  } else {
    return true;
  }
}

inline bool all_finite(wire::DType dtype, const char* data, std::size_t count) {
  if (dtype == wire::FLOAT32) return all_finite<float>(data, count);
  if (dtype == wire::FLOAT64) return all_finite<double>(data, count);
  return true;
}

}  // namespace fedxray

#include "privacy/secagg/fixed_point.h"

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace fedxray {

namespace {
// 2^31 - 2^16: the largest sum, with room for the rounding of up to 65536 sites.
constexpr double kRingHalf = 2147418112.0;
}

FixedPointCode FixedPointCode::for_total_weight(double clip, double total_weight) {
  if (!(clip > 0) || !(total_weight > 0)) {
    throw Error("fixed-point code needs clip > 0 and total weight > 0");
  }
  return FixedPointCode{clip, kRingHalf / (clip * total_weight)};
}

double FixedPointCode::quantisation_bound(int sites, double total_weight) const {
  return double(sites) * 0.5 / (scale * total_weight);
}

std::size_t encode_fixed_point(const FixedPointCode& code, const float* x, std::size_t n,
                               double weight, uint32_t* out) {
  std::size_t clipped = 0;
  const double factor = weight * code.scale;
  for (std::size_t k = 0; k < n; ++k) {
    double v = x[k];
    if (!(v >= -code.clip)) {  // also catches NaN: it encodes as -clip and is counted
      v = -code.clip;
      ++clipped;
    } else if (v > code.clip) {
      v = code.clip;
      ++clipped;
    }
    // Round half away from zero (as llround), without a libm call per element; |q| < 2^31.
    const double q = v * factor;
    out[k] = uint32_t(int32_t(q >= 0 ? q + 0.5 : q - 0.5));
  }
  return clipped;
}

void decode_fixed_point(const FixedPointCode& code, const uint32_t* sum, std::size_t n, double* out) {
  for (std::size_t k = 0; k < n; ++k) out[k] = double(int32_t(sum[k])) / code.scale;
}

}  // namespace fedxray

// Fixed-point encoding of real-valued updates into the ring Z_2^32 for secure aggregation.
//
// Each site encodes round(clamp(x, -clip, clip) * weight * scale) as a two's-complement 32-bit
// word. The coordinator picks `scale` so that the sum over all sites cannot overflow:
//   |sum_i weight_i * x_i| * scale <= clip * total_weight * scale <= 2^31 - 2^16,
// i.e. scale = (2^31 - 2^16) / (clip * total_weight) (2^16 leaves room for rounding), where total_weight bounds the sum of the
// sites' weights. Decoding the ring sum back to reals divides by scale; each site's rounding adds
// at most 0.5 / scale, so the error of the decoded weighted sum is at most n * 0.5 / scale, and of
// the weighted mean n * 0.5 / (scale * total_weight) = n * clip / (2^32 - 2^17) (the documented
// quantisation bound, see quantisation_bound()).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fedxray {

struct FixedPointCode {
  double clip = 1.0;   // per-coordinate bound on |x|
  double scale = 1.0;  // ring units per unit of weight * x

  // The largest scale at which `total_weight` weighted values clipped to `clip` cannot overflow.
  static FixedPointCode for_total_weight(double clip, double total_weight);
  // Largest error of one decoded coordinate of the weighted mean over `sites` sites.
  double quantisation_bound(int sites, double total_weight) const;
};

// out[k] = encode(weight * clamp(x[k])). Returns how many coordinates were clipped.
std::size_t encode_fixed_point(const FixedPointCode& code, const float* x, std::size_t n,
                               double weight, uint32_t* out);
// The ring sum back to the real weighted sum: int32(sum[k]) / scale.
void decode_fixed_point(const FixedPointCode& code, const uint32_t* sum, std::size_t n, double* out);

}  // namespace fedxray

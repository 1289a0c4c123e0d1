#include "privacy/dp/client_dp.h"

#include <cmath>
#include <vector>

#include "base/error.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/mask_generator.h"

namespace fedxray {

ClipAndNoise clip_and_add_noise(float* delta, std::size_t n, double clip_norm, double noise_stddev) {
  if (!(clip_norm > 0)) throw Error("DP clip norm must be > 0");
  if (!(noise_stddev >= 0)) throw Error("DP noise standard deviation must be >= 0");
  ClipAndNoise r;
  double sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += double(delta[i]) * delta[i];
  r.norm_before = std::sqrt(sum);
  if (!std::isfinite(r.norm_before)) throw Error("the model delta is not finite; training diverged");
  if (r.norm_before > clip_norm) {
    const float scale = float(clip_norm / r.norm_before);
    for (std::size_t i = 0; i < n; ++i) delta[i] *= scale;
    r.clipped = true;
  }
  if (noise_stddev == 0) return r;
  // Uniform 32-bit words from a fresh AES-CTR stream, two per normal pair (Box-Muller).
  const std::string seed = random_seed();
  constexpr std::size_t kBatch = 16384;
  std::vector<uint32_t> words(kBatch);
  for (std::size_t at = 0, pairs = 0; at < n; at += 2 * pairs) {
    // Element i uses keystream word i: each batch of 2 * pairs elements its own words.
    pairs = std::min(kBatch / 2, (n - at + 1) / 2);
    std::fill(words.begin(), words.begin() + std::ptrdiff_t(2 * pairs), 0u);
    apply_mask(seed, uint64_t(at), words.data(), 2 * pairs, MaskSign::add);
    for (std::size_t p = 0; p < pairs; ++p) {
      const double u1 = (double(words[2 * p]) + 1.0) / 4294967297.0;  // (0, 1)
      const double u2 = double(words[2 * p + 1]) / 4294967296.0;      // [0, 1)
      const double radius = noise_stddev * std::sqrt(-2.0 * std::log(u1));
      const std::size_t i = at + 2 * p;
      delta[i] += float(radius * std::cos(2 * M_PI * u2));
      if (i + 1 < n) delta[i + 1] += float(radius * std::sin(2 * M_PI * u2));
    }
  }
  return r;
}

double site_noise_stddev(double noise_multiplier, double clip_norm, int summed_sites) {
  return noise_multiplier * clip_norm / std::sqrt(double(std::max(1, summed_sites)));
}

}  // namespace fedxray

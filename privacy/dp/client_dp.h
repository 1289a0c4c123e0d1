// Client-level differential privacy for DP-FedAvg (McMahan, Ramage, Talwar, Zhang, ICLR 2018):
// a site clips its model delta to L2 norm C and adds Gaussian noise before the update leaves.
// With secure aggregation each of at least m summed sites adds noise of standard deviation
// z C / sqrt(m), so the sum the coordinator sees carries at least N(0, z^2 C^2); without it each
// site adds the full z C, since its update is seen on its own.
//
// The noise comes from AES-128-CTR keyed by 32 fresh bytes of OpenSSL's CSPRNG, turned into
// normal deviates with the Box-Muller transform: unpredictable, and fast enough for models of
// tens of millions of parameters.
#pragma once

#include <cstddef>

namespace fedxray {

struct ClipAndNoise {
  double norm_before = 0;  // L2 norm of the delta as trained
  bool clipped = false;    // it was scaled down to the clip norm
};

// delta <- delta * min(1, clip_norm / ||delta||) + N(0, noise_stddev^2) per coordinate.
ClipAndNoise clip_and_add_noise(float* delta, std::size_t n, double clip_norm, double noise_stddev);

// The per-site noise standard deviation described above (noise_multiplier z, clip norm C, at
// least `summed_sites` sites in each sum; 1 without secure aggregation).
double site_noise_stddev(double noise_multiplier, double clip_norm, int summed_sites);

}  // namespace fedxray

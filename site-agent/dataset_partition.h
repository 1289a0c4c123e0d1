// Splitting one pool of images across simulated sites: IID, or label skew where each class is
// divided among sites in Dirichlet(alpha) proportions (small alpha = very uneven). Deterministic
// for a seed; every site gets at least one image.
#pragma once

#include <cstdint>
#include <vector>

#include "site-agent/image_set.h"

namespace fedxray {

std::vector<ImageSet> partition_iid(const ImageSet& pool, int sites, uint64_t seed);
std::vector<ImageSet> partition_dirichlet(const ImageSet& pool, int sites, double alpha,
                                          uint64_t seed);

}  // namespace fedxray

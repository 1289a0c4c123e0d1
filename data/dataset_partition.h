// Splitting one pool of images across simulated sites, patient by patient (a patient's images
// always land on one site): "iid" deals patients out evenly at random; "dirichlet" gives each
// class's patients to sites in Dirichlet(alpha) proportions — label skew, more uneven for small
// alpha. Deterministic for a seed; every site gets at least one patient.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image_set.h"

namespace fedxray {

std::vector<ImagePool> partition_by_patient(const ImagePool& pool, int sites,
                                            const std::string& scheme, double alpha, uint64_t seed);

}  // namespace fedxray

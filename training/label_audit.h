// Out-of-fold predictions for a label audit at a site (`fedxray audit-labels`): every image is
// scored by a model that never trained on it, so a wrong label cannot have been memorised.
// training/confident_learning.h then says which labels look wrong. Nothing leaves the site.
#pragma once

#include <vector>

#include "data/image_set.h"
#include "training/local_training.h"
#include "wire/model_blob.h"

namespace fedxray {

// Class probabilities (count x classes) for every image of `pool`: the images are dealt into
// `folds` folds patient by patient (a patient's images share a fold; seeded by options.seed);
// for each fold, the pooled model fine-tuned for options.epochs epochs on the other folds
// predicts it. A one-class-per-image model only; needs at least two folds and two patients.
std::vector<float> out_of_fold_probabilities(const ModelBlob& pooled, const ImagePool& pool,
                                             int folds, const TrainingOptions& options);

}  // namespace fedxray

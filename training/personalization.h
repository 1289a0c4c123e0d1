// Personalised models at a site (proto PersonalizationSpec): a model of the site's own that starts
// from the federation's global model and never leaves the site.
//
//   finetune  the global model trained `epochs` more epochs on the site's data (all layers, or
//             only the final one with head_only)
//   ditto     Li et al., "Ditto: Fair and Robust Federated Learning Through Personalization", ICML
//             2021: the personal model v, carried from round to round, trained `epochs` epochs with
//             (lambda / 2) ||v - w||^2 added to its loss, w being the round's global model
//
// The site agent's TorchTrainer runs this every round and reports the personal model's held-out
// metrics next to the global model's; `fedxray personalise` runs it once on a pooled model.
#pragma once

#include <functional>
#include <string>

#include "fedxray/proto/fedxray.pb.h"
#include "training/local_training.h"

namespace fedxray {

struct PersonalizationOptions {
  std::string method = "finetune";  // "finetune" or "ditto"
  int epochs = 1;
  bool head_only = false;
  double ditto_lambda = 0.1;
};

PersonalizationOptions personalization_options(const wire::PersonalizationSpec& spec);

// Trains `personal` on `train` for p.epochs epochs with `base`'s optimizer, learning rate, batch
// size, seed and logit adjustment (no schedule, no DP-SGD, no optimizer state carried: nothing of
// it leaves the site). With ditto, `global` is the model it is pulled towards; finetune does not
// read it. Returns the last
// epoch's mean training loss. `on_batch` as in train_epochs().
double personalise(ImageClassifier& personal, ImageClassifier& global, const ImageSet& train,
                   TrainingOptions base, const PersonalizationOptions& p,
                   const std::function<bool(double)>& on_batch = nullptr);

}  // namespace fedxray

#include "training/label_audit.h"

#include <algorithm>
#include <map>
#include <random>
#include <string>

#include "base/error.h"
#include "models/model_weights.h"

namespace fedxray {

std::vector<float> out_of_fold_probabilities(const ModelBlob& pooled, const ImagePool& pool,
                                             int folds, const TrainingOptions& options) {
  const ImageSet& all = pool.images;
  const int classes = int(pooled.manifest.classes());
  if (parse_label_task(pooled.manifest.task()) != LabelTask::classification) {
    throw Error("a label audit needs a one-class-per-image model; this one is " +
                label_task_name(parse_label_task(pooled.manifest.task())));
  }
  // Patients in key order, shuffled by the seed, dealt round-robin into folds.
  std::map<std::string, int> fold_of;
  for (const auto& p : pool.patients) fold_of.emplace(p, 0);
  if (folds < 2 || fold_of.size() < 2) {
    throw Error("a label audit needs at least 2 folds and 2 patients (got " +
                std::to_string(folds) + " folds, " + std::to_string(fold_of.size()) + " patients)");
  }
  std::vector<std::string> patients;
  for (const auto& [p, f] : fold_of) patients.push_back(p);
  std::mt19937_64 rng(options.seed);
  std::shuffle(patients.begin(), patients.end(), rng);
  for (std::size_t i = 0; i < patients.size(); ++i)
    fold_of[patients[i]] = int(i % std::size_t(folds));

  std::vector<float> out(all.count() * std::size_t(classes), 0.0f);
  for (int f = 0; f < folds; ++f) {
    ImageSet train, held;
    train.image_size = held.image_size = all.image_size;
    std::vector<std::size_t> held_index;
    for (std::size_t i = 0; i < all.count(); ++i) {
      if (fold_of[pool.patients[i]] == f) {
        held.append(all, i);
        held_index.push_back(i);
      } else {
        train.append(all, i);
      }
    }
    if (held.count() == 0) continue;
    auto model = model_from_blob(pooled);
    if (train.count() > 0 && options.epochs > 0) {
      TrainingOptions fold_options = options;
      fold_options.seed = options.seed + uint64_t(f);
      train_epochs(*model, train, fold_options);
    }
    const std::vector<float> p = predict(*model, held, LabelTask::classification);
    for (std::size_t k = 0; k < held_index.size(); ++k) {
      std::copy(p.begin() + std::ptrdiff_t(k * std::size_t(classes)),
                p.begin() + std::ptrdiff_t((k + 1) * std::size_t(classes)),
                out.begin() + std::ptrdiff_t(held_index[k] * std::size_t(classes)));
    }
  }
  return out;
}

}  // namespace fedxray

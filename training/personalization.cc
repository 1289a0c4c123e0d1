#include "training/personalization.h"

#include "base/error.h"

namespace fedxray {

PersonalizationOptions personalization_options(const wire::PersonalizationSpec& spec) {
  PersonalizationOptions p;
  p.method = spec.method();
  p.epochs = int(spec.epochs());
  p.head_only = spec.head_only();
  p.ditto_lambda = spec.ditto_lambda();
  return p;
}

double personalise(ImageClassifier& personal, ImageClassifier& global, const ImageSet& train,
                   TrainingOptions base, const PersonalizationOptions& p,
                   const std::function<bool(double)>& on_batch) {
  if (p.method != "finetune" && p.method != "ditto") {
    throw Error("unknown personalization method '" + p.method + "' (finetune or ditto)");
  }
  TrainingOptions o = base;
  o.epochs = p.epochs;
  o.schedule_epochs = 0;
  o.first_epoch = 0;
  o.optimizer_state = nullptr;
  o.dp_sgd.enabled = false;
  o.gradient_correction = nullptr;  // SCAFFOLD corrects the shared model's training only
  o.mean_gradient = nullptr;
  o.seed = base.seed ^ 0x5bd1e9955bd1e995ULL;  // another batch order than the global update's
  o.head_only = p.method == "finetune" && p.head_only;
  std::vector<torch::Tensor> anchor;
  o.proximal_mu = 0;
  o.proximal_anchor = nullptr;
  if (p.method == "ditto" && p.ditto_lambda > 0) {
    for (const auto& w : global.parameters()) anchor.push_back(w.detach().clone());
    o.proximal_mu = p.ditto_lambda;
    o.proximal_anchor = &anchor;
  }
  return train_epochs(personal, train, o, on_batch);
}

}  // namespace fedxray

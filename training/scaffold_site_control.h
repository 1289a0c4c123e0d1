// ScaffoldSiteControl: one SCAFFOLD round at a site (Karimireddy et al., ICML 2020).
//
// From the received global model (which carries the server control c, wire/scaffold_controls.h)
// and the site's own control c_i (kept between rounds; zero at first) it gives the gradient
// correction c - c_i that train_epochs() adds at every step, and collects the mean gradient of
// the training loss, which becomes the new site control c_i'. The update the site sends holds
// its trained weights and, in the control tensors, c + (c_i' - c_i); c_i' itself stays at the
// site (site_control()).
#pragma once

#include <vector>

#include "models/image_classifier.h"
#include "models/model_registry.h"
#include "wire/model_blob.h"

namespace fedxray {

class ScaffoldSiteControl {
 public:
  // `kept`: the site's control from its last round (control tensors only, as site_control()
  // returned it), or an empty blob for zeros. Throws Error when `global` lacks a control for a
  // parameter of `model`.
  ScaffoldSiteControl(ImageClassifier& model, const ModelBlob& global, const ModelBlob& kept);

  // For TrainingOptions::gradient_correction and ::mean_gradient.
  const std::vector<torch::Tensor>* correction() const { return &correction_; }
  std::vector<torch::Tensor>* mean_gradient() { return &mean_gradient_; }

  // After training: the update in `global`'s layout (sealed) — `model`'s weights, and
  // c + (c_i' - c_i) in the control tensors.
  ModelBlob update(ImageClassifier& model, const ModelSpec& spec, const ModelBlob& global) const;
  // c_i' (control tensors only), to keep for the site's next round.
  ModelBlob site_control(const ModelBlob& global) const;

 private:
  std::vector<std::string> names_;  // each parameter's name
  std::vector<torch::Tensor> server_, site_, correction_, mean_gradient_;
};

}  // namespace fedxray

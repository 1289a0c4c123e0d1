// Local training and evaluation with LibTorch on an in-memory ImageSet: the loops the site's
// Trainer, `fedxray simulate` (local-only baselines) and `fedxray evaluate` share.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "data/image_set.h"
#include "models/image_classifier.h"
#include "training/batch_pipeline.h"
#include "training/classification_metrics.h"

namespace fedxray {

struct Evaluation {
  double loss = 0;  // mean loss of the task (training/label_loss.h)
  ClassificationMetrics metrics;
};

struct TrainingOptions {
  int epochs = 1;
  int batch_size = 32;
  std::string optimizer = "sgd";
  double learning_rate = 0.05;
  double momentum = 0.9;
  uint64_t seed = 1;  // batch order and augmentation
  // Cosine learning-rate decay over a whole run of `schedule_epochs` epochs, of which this call
  // trains epochs [first_epoch, first_epoch + epochs): epoch g uses
  // learning_rate x (1 + cos(pi g / schedule_epochs)) / 2. A federated job spans rounds x
  // local_epochs epochs; a site's round r starts at (r - 1) x local_epochs. 0 = constant rate.
  int schedule_epochs = 0;
  int first_epoch = 0;
  // When set, the optimizer starts from this saved state (if not empty) instead of a fresh one,
  // and the state it ends with is saved back here: a site's Adam moments or SGD momentum carry
  // over from one round to its next. The state never leaves the site.
  std::string* optimizer_state = nullptr;
  // FedProx (Li et al., MLSys 2020): adds (mu / 2) ||w - w_start||^2 to the loss, w_start being
  // the weights training started from (the round's global model), so a site with skewed labels
  // does not drift far from it. 0 = off.
  double proximal_mu = 0;
  // When set, the proximal term pulls towards these tensors (one per model parameter, in
  // parameters() order) instead of w_start: Ditto's personal model is pulled towards the
  // round's global model.
  const std::vector<torch::Tensor>* proximal_anchor = nullptr;
  // SCAFFOLD (Karimireddy et al., ICML 2020): when set, added to each parameter's gradient
  // before every step (one tensor per model parameter, in parameters() order): the site's
  // correction c - c_i.
  const std::vector<torch::Tensor>* gradient_correction = nullptr;
  // When set, receives the mean over all steps of each parameter's gradient of the training
  // loss alone (before any proximal term or correction): SCAFFOLD's new site control c_i'. With
  // plain SGD at a constant rate this equals c_i - c + (w_start - w_end) / (steps x rate),
  // the paper's option II.
  std::vector<torch::Tensor>* mean_gradient = nullptr;
  // Train only the parameters of the model's last child module (its classification head).
  bool head_only = false;
  // Logit adjustment for label skew (Menon et al., ICLR 2021): training adds log(prior of class
  // c) to logit c, the prior being this training set's label frequencies. The model then learns
  // scores free of the site's own label mix, which is what differs most between sites; predictions
  // use the plain logits.
  bool logit_adjustment = false;
  int classes = 2;  // the job's classes (used by logit_adjustment)
  LabelTask task = LabelTask::classification;  // which loss (training/label_loss.h)
  Augmentation augmentation;
  int loader_threads = 1;  // background batch preparation
  // Sample-level DP-SGD (Abadi et al., CCS 2016): each example's gradient is clipped to L2 norm
  // clip_norm, the batch's sum gets Gaussian noise of std noise_multiplier x clip_norm (from the
  // CSPRNG), then it is averaged. Per-example gradients come from one backward pass per example.
  struct DpSgd {
    bool enabled = false;
    double clip_norm = 1.0;
    double noise_multiplier = 1.0;
  } dp_sgd;
};

// The learning rate of epoch `first_epoch + e` under `options`' schedule.
double scheduled_learning_rate(const TrainingOptions& options, int e);

// Returns the mean training loss of the last epoch. `on_batch(fraction)` returning false stops
// training by throwing TrainingCancelled.
double train_epochs(ImageClassifier& model, const ImageSet& data, const TrainingOptions& options,
                    const std::function<bool(double)>& on_batch = nullptr);

// Metrics of the task (compute_task_metrics) on `data`, `classes` being the job's classes, grades
// or findings.
Evaluation evaluate(ImageClassifier& model, const ImageSet& data, LabelTask task, int classes,
                    int batch_size = 128);
// The task's per-image scores (training/label_loss.h label_scores) of every image, in order:
// count x classes (for an ordinal model, its distribution over grades).
std::vector<float> predict(ImageClassifier& model, const ImageSet& data, LabelTask task,
                           int batch_size = 128);

}  // namespace fedxray

#include "training/torch_trainer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "models/model_registry.h"
#include "models/model_weights.h"
#include "training/label_fit.h"
#include "training/local_training.h"
#include "training/personalization.h"
#include "training/scaffold_site_control.h"
#include "wire/model_file.h"
#include "wire/scaffold_controls.h"
#include "wire/update_layout.h"

namespace fedxray {

TorchTrainer::TorchTrainer(std::shared_ptr<DataSource> data) : data_(std::move(data)) {}

const TrainHeldOut& TorchTrainer::split_for(int classes, int image_size) {
  auto key = std::make_pair(classes, image_size);
  auto it = splits_.find(key);
  if (it == splits_.end()) it = splits_.emplace(key, data_->load(classes, image_size)).first;
  if (it->second.train.count() == 0) {
    throw Error("this site has no usable training images for the job; it refuses the round");
  }
  return it->second;
}

std::vector<std::string> TorchTrainer::supported_models() const { return registered_models(); }

ModelBlob TorchTrainer::personal_model(const std::string& job_id) const {
  auto job = site_state_.find(job_id);
  if (job == site_state_.end()) return {};
  auto it = job->second.find("personalised");
  return it == job->second.end() ? ModelBlob{} : it->second;
}

std::string TorchTrainer::state_file(const std::string& job_id, const std::string& kind) const {
  return personal_model_dir_.empty() ? std::string()
                                     : personal_model_dir_ + "/" + job_id + "." + kind + ".fxm";
}

const ModelBlob& TorchTrainer::kept_state(const std::string& job_id, const std::string& kind) {
  ModelBlob& kept = site_state_[job_id][kind];
  const std::string file = state_file(job_id, kind);
  std::error_code ec;
  if (kept.bytes.empty() && !file.empty() && std::filesystem::exists(file, ec)) {
    try {
      kept = read_model_file(file);
    } catch (const Error& e) {
      spdlog::warn("job={} kept {} {} unusable ({}); starting afresh", job_id, kind, file,
                   e.what());
    }
  }
  return kept;
}

void TorchTrainer::keep_state(const std::string& job_id, const std::string& kind,
                              ModelBlob state) {
  const std::string file = state_file(job_id, kind);
  if (!file.empty()) {
    std::filesystem::create_directories(personal_model_dir_);
    write_model_file(file, state);
  }
  site_state_[job_id][kind] = std::move(state);
}

void TorchTrainer::round_uploaded(const std::string& job_id, int round) {
  auto it = pending_control_.find(job_id);
  if (it == pending_control_.end() || it->second.first != round) return;
  keep_state(job_id, "scaffold-control", std::move(it->second.second));
  pending_control_.erase(it);
}

void TorchTrainer::end_job(const std::string& job_id) {
  dp_sgd_spent_.erase(job_id);
  pending_control_.erase(job_id);
  site_state_.erase(job_id);  // the files stay
  optimizer_state_.erase(job_id);
  splits_.clear();  // the next job may ask for another image size; reloaded on demand
}

TrainingResult TorchTrainer::train(const wire::JobSpec& job, int round, const ModelBlob& global,
                                   const TrainingProgress& progress) {
  const LabelTask task = parse_label_task(job.task());
  check_labels_fit(task, *data_);
  const TrainHeldOut& split = split_for(int(job.classes()), int(job.image_size()));
  const ImageSet& train_set = split.train;
  const ImageSet& held_out = split.held_out;
  const auto start = std::chrono::steady_clock::now();
  ModelSpec spec{job.model(), int(job.classes()), int(job.image_size()), job.seed(), task};
  std::shared_ptr<ImageClassifier> model = model_from_blob(global);
  if (job.fedbn().enabled()) {  // this site's own batch-norm layers replace the global ones
    const ModelBlob& mine = kept_state(job.job_id(), "batch-norm");
    if (!mine.bytes.empty()) {
      try {
        import_some_weights(*model, mine);
      } catch (const Error& e) {
        spdlog::warn("job={} kept batch-norm layers do not fit the model ({}); using the "
                     "global ones", job.job_id(), e.what());
        model = model_from_blob(global);
      }
    }
  }
  TrainingResult result;
  if (!progress("evaluating", 0.0)) throw TrainingCancelled();
  Evaluation before = evaluate(*model, held_out, task, spec.classes);
  TrainingOptions options;
  options.epochs = int(job.local_epochs());
  options.batch_size = int(job.batch_size());
  options.optimizer = job.optimizer();
  options.learning_rate = job.learning_rate();
  options.momentum = job.momentum();
  // A new batch order and augmentation each round, the same on a re-run of the round.
  options.seed = job.seed() ^ (uint64_t(train_set.count()) << 20) ^
                 (uint64_t(round) * 0x9E3779B97F4A7C15ULL);
  if (job.learning_rate_schedule() == "cosine") {
    options.schedule_epochs = int(job.rounds() * job.local_epochs());
    options.first_epoch = (std::max(round, 1) - 1) * int(job.local_epochs());
  }
  options.augmentation.enabled = job.augment();
  options.proximal_mu = job.proximal_mu();
  options.logit_adjustment = job.logit_adjustment();
  options.classes = spec.classes;
  options.task = task;
  if (job.keep_optimizer_state()) options.optimizer_state = &optimizer_state_[job.job_id()];
  if (job.dp_sgd().enabled()) {
    options.dp_sgd.enabled = true;
    options.dp_sgd.clip_norm = job.dp_sgd().clip_norm();
    options.dp_sgd.noise_multiplier = job.dp_sgd().noise_multiplier();
  }
  std::unique_ptr<ScaffoldSiteControl> scaffold;
  if (job.scaffold()) {
    scaffold = std::make_unique<ScaffoldSiteControl>(*model, global,
                                                     kept_state(job.job_id(), "scaffold-control"));
    options.gradient_correction = scaffold->correction();
    options.mean_gradient = scaffold->mean_gradient();
  }
  const double train_loss = train_epochs(*model, train_set, options,
                                         [&](double f) { return progress("training", f); });
  if (!progress("evaluating", 1.0)) throw TrainingCancelled();
  Evaluation after = evaluate(*model, held_out, task, spec.classes);
  result.model = scaffold ? scaffold->update(*model, spec, global) : export_weights(*model, spec);
  if (scaffold) pending_control_[job.job_id()] = {round, scaffold->site_control(global)};
  if (job.fedbn().enabled()) {
    keep_state(job.job_id(), "batch-norm",
               restrict_to(result.model, normalization_layout(global.manifest)));
  }
  result.samples = train_set.count();
  result.metrics.set_train_loss(train_loss);
  result.metrics.set_held_out_loss(after.loss);
  result.metrics.set_held_out_accuracy(after.metrics.accuracy);
  result.metrics.set_held_out_balanced_accuracy(after.metrics.balanced_accuracy);
  result.metrics.set_held_out_macro_f1(after.metrics.macro_f1);
  result.metrics.set_held_out_auc(after.metrics.roc_auc);
  result.metrics.set_held_out_count(after.metrics.count);
  result.metrics.set_global_held_out_loss(before.loss);
  result.metrics.set_global_held_out_accuracy(before.metrics.accuracy);
  result.metrics.set_global_held_out_balanced_accuracy(before.metrics.balanced_accuracy);
  result.metrics.set_global_held_out_auc(before.metrics.roc_auc);
  if (task == LabelTask::ordinal) {
    result.metrics.set_held_out_kappa(after.metrics.quadratic_weighted_kappa);
    result.metrics.set_held_out_mae(after.metrics.mean_absolute_error);
    result.metrics.set_global_held_out_kappa(before.metrics.quadratic_weighted_kappa);
  }
  for (double auc : after.metrics.label_auc) result.metrics.add_held_out_label_auc(auc);
  if (task == LabelTask::segmentation) {
    result.metrics.set_held_out_dice(after.metrics.dice);
    result.metrics.set_global_held_out_dice(before.metrics.dice);
    result.metrics.set_held_out_hausdorff95(after.metrics.hausdorff95);
  }
  if (job.dp_sgd().enabled()) {
    // Each batch is one step of the sampled Gaussian mechanism with q = batch / train size
    // (the accountant's Poisson-sampling assumption, as usual for shuffled fixed-size batches).
    const std::size_t n = train_set.count();
    const std::size_t batch = std::min<std::size_t>(n, std::size_t(options.batch_size));
    const int steps = int(options.epochs * ((n + batch - 1) / batch));
    RdpAccountant& spent = dp_sgd_spent_[job.job_id()];
    spent.add_sampled_gaussian(double(batch) / double(n), options.dp_sgd.noise_multiplier, steps);
    const auto eps = spent.epsilon(job.dp_sgd().delta());
    result.metrics.set_dp_sgd_epsilon(eps.epsilon);
    result.metrics.set_dp_sgd_delta(eps.delta);
    spdlog::info("job={} DP-SGD: this site's training data has spent epsilon {:.3f} (delta {:g}) "
                 "in this job", job.job_id(), eps.epsilon, eps.delta);
  }
  if (!job.personalization().method().empty()) {
    const PersonalizationOptions p = personalization_options(job.personalization());
    // Ditto carries the personal model over rounds (from its file after an agent restart);
    // finetune starts from each round's global.
    const ModelBlob* start = &global;
    if (p.method == "ditto") {
      const ModelBlob& kept = kept_state(job.job_id(), "personalised");
      if (!kept.bytes.empty() &&
          layout_difference(without_scaffold_controls(global.manifest), kept.manifest).empty()) {
        start = &kept;
      }
    }
    std::shared_ptr<ImageClassifier> personal = model_from_blob(*start);
    // Only Ditto pulls towards the received model; fine-tuning needs no second copy of it.
    std::shared_ptr<ImageClassifier> received =
        p.method == "ditto" ? model_from_blob(global) : personal;
    personalise(*personal, *received, train_set, options, p,
                [&](double f) { return progress("personalising", f); });
    const Evaluation mine = evaluate(*personal, held_out, task, spec.classes);
    result.metrics.set_has_personal(true);
    result.metrics.set_personal_held_out_loss(mine.loss);
    result.metrics.set_personal_held_out_accuracy(mine.metrics.accuracy);
    result.metrics.set_personal_held_out_balanced_accuracy(mine.metrics.balanced_accuracy);
    result.metrics.set_personal_held_out_auc(mine.metrics.roc_auc);
    if (task == LabelTask::ordinal) {
      result.metrics.set_personal_held_out_kappa(mine.metrics.quadratic_weighted_kappa);
    }
    if (task == LabelTask::segmentation) result.metrics.set_personal_held_out_dice(mine.metrics.dice);
    keep_state(job.job_id(), "personalised", export_weights(*personal, spec));
  }
  result.metrics.set_train_seconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return result;
}

}  // namespace fedxray

// TorchTrainer: the real Trainer — LibTorch training of a registry model on the site's own
// images, evaluation of both the received global model and the locally trained one on the
// site's held-out split. With a job's personalization it also trains the site's personalised
// model every round (training/personalization.h), evaluates it on the same split, and keeps it:
// in memory for the job, and as <personal_model_dir>/<job>.personalised.fxm when a folder is set
// (`fedxray export` turns it into TorchScript). It never leaves the site.
// Under SCAFFOLD it keeps the site's control variate (training/scaffold_site_control.h; the new
// one only once round_uploaded() says the coordinator has the update that matches it), and
// under FedBN the site's batch-norm layers, which replace the global model's every round; both
// stay in memory for the job and in <personal_model_dir>/<job>.<kind>.fxm, so a restarted agent
// carries on with them.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <utility>

#include "data/data_source.h"
#include "privacy/dp/rdp_accountant.h"
#include "training/trainer.h"
#include "wire/label_task.h"

namespace fedxray {

class TorchTrainer : public Trainer {
 public:
  explicit TorchTrainer(std::shared_ptr<DataSource> data);
  std::vector<std::string> supported_models() const override;
  uint64_t dataset_size() const override { return data_->size(); }
  TrainingResult train(const wire::JobSpec& job, int round, const ModelBlob& global,
                       const TrainingProgress& progress) override;
  void end_job(const std::string& job_id) override;
  void round_uploaded(const std::string& job_id, int round) override;
  // Where personalised models are written (created if missing); empty = memory only.
  void set_personal_model_dir(std::string dir) { personal_model_dir_ = std::move(dir); }
  // The job's personalised model so far (empty bytes when none).
  ModelBlob personal_model(const std::string& job_id) const;
  // Jobs with state kept in memory (optimizer state or DP-SGD spending), and loaded splits.
  std::size_t jobs_kept() const {
    return std::max({dp_sgd_spent_.size(), optimizer_state_.size(), site_state_.size()});
  }
  std::size_t splits_kept() const { return splits_.size(); }

 private:
  // The split for (classes, image_size), loaded once per job shape.
  const TrainHeldOut& split_for(int classes, int image_size);
  // The site's kept `kind` of state for the job ("personalised", "scaffold-control",
  // "batch-norm"): from memory,
  // else from its file (an agent restarted mid-job), else an empty blob.
  const ModelBlob& kept_state(const std::string& job_id, const std::string& kind);
  void keep_state(const std::string& job_id, const std::string& kind, ModelBlob state);
  std::string state_file(const std::string& job_id, const std::string& kind) const;

  std::shared_ptr<DataSource> data_;
  std::map<std::pair<int, int>, TrainHeldOut> splits_;
  std::map<std::string, RdpAccountant> dp_sgd_spent_;  // per job: sample-level DP-SGD so far
  std::map<std::string, std::string> optimizer_state_;   // per job, with keep_optimizer_state
  std::map<std::string, std::map<std::string, ModelBlob>> site_state_;  // job -> kind -> state
  std::map<std::string, std::pair<int, ModelBlob>> pending_control_;    // job -> (round, c_i')
  std::string personal_model_dir_;
};

}  // namespace fedxray

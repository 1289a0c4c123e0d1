// HostileTrainer: a Trainer that trains honestly, then turns its update against the federation
// (SimulatedAttack): for "sign_flip", every floating-point weight becomes
// global - scale x (trained - global). Only `fedxray simulate` builds one, to measure robust
// aggregation; the sample count and metrics it reports are the honest trainer's.
#pragma once

#include "config/simulation_config.h"
#include "training/trainer.h"

namespace fedxray {

class HostileTrainer : public Trainer {
 public:
  HostileTrainer(Trainer& honest, SimulatedAttack attack) : honest_(honest), attack_(attack) {}
  std::vector<std::string> supported_models() const override { return honest_.supported_models(); }
  uint64_t dataset_size() const override { return honest_.dataset_size(); }
  TrainingResult train(const wire::JobSpec& job, int round, const ModelBlob& global,
                       const TrainingProgress& progress) override;
  void end_job(const std::string& job_id) override { honest_.end_job(job_id); }
  void round_uploaded(const std::string& job_id, int round) override {
    honest_.round_uploaded(job_id, round);
  }

 private:
  Trainer& honest_;
  SimulatedAttack attack_;
};

}  // namespace fedxray

// One whole federation on this machine: a throw-away consortium, a coordinator and one site agent
// per simulated site over loopback mTLS, then the verdict baselines (each site's model trained
// alone, and a centralised model trained on the union) evaluated on every site's held-out images.
// `fedxray simulate` runs it once per seed and prints the tables.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config/simulation_config.h"
#include "coordinator/round/job_runner.h"
#include "training/local_training.h"

namespace fedxray {

struct SimulatedSiteResult {
  std::string name;
  std::size_t train_images = 0;
  std::size_t held_out_images = 0;
  double intensity_shift = 0;
  Evaluation local_only;    // trained on this site alone, same epochs as the federation
  Evaluation pooled;        // the federation's pooled model
  Evaluation centralised;   // trained on all sites' training images in one place
  // With job.personalization: the model this site ends the job with (Ditto's personal model, or
  // the pooled model fine-tuned on its own data).
  bool has_personalised = false;
  Evaluation personalised;
};

struct SimulationResult {
  LabelTask task = LabelTask::classification;  // which metrics the Evaluations hold
  std::vector<std::string> label_names;        // job.labels (may be empty)
  std::vector<int64_t> held_out_positives;     // multi-label: images with each finding, all sites
  std::vector<SimulatedSiteResult> sites;
  // cross_site[i][j]: the task's headline metric (ROC AUC; QWK for ordinal jobs) of the model
  // trained at site i alone, on site j's held-out images.
  std::vector<std::vector<double>> cross_site;
  // On the union of every site's held-out images: a larger, less noisy test set.
  Evaluation pooled_on_union;
  Evaluation centralised_on_union;
  std::string pooled_model_path;     // .fxm; empty when the work folder was removed
  std::string pooled_torchscript;    // .pt
  std::string metrics_path;
  double federation_seconds = 0;  // from the first round's start to the job's end
  int rounds = 0;
  // Model bytes each round moves: every selected site downloads the global model and uploads
  // its update (the model's size each way); strategies here do not change it.
  uint64_t bytes_per_round = 0;
};

// Runs the federation in `work_dir` (created if missing). `on_progress` is called every 250 ms
// with the coordinator's progress. Throws Error when the federation fails; the message names the
// metrics file that says why.
SimulationResult run_federation_simulation(
    const SimulationFile& config, const std::string& work_dir,
    const std::function<void(const JobProgress&)>& on_progress);

}  // namespace fedxray

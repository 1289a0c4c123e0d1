// JobConfig: what a consortium admin asks the federation to train, read from a job YAML file.
//
// The file's top level holds one `job:` mapping. Every key is checked for type and range on load
// (ConfigError names file, key and line); nothing starts from a file that does not validate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

class ConfigReader;

// Secure aggregation (privacy/): the coordinator only learns the sum of the sites' updates.
struct SecureAggregationConfig {
  bool enabled = false;
  int threshold = 0;          // shares that recover a site's secrets; 0 = majority of its
                              // neighbourhood (floor((k + 1) / 2) + 1)
  int neighbours = 0;         // SecAgg+ graph degree; 0 = 2 ceil(log2 n) + 2 (complete when n small)
  double clip = 8.0;          // per-coordinate bound on each site's model delta per round
  double stage_timeout_s = 60;  // how long each key/share exchange waits for slow sites
};

// Robust aggregation for plaintext jobs: the pooled model resists a few sites that send
// arbitrary updates (coordinator/aggregation/robust_aggregator.h). Each needs the individual
// updates, so it cannot be combined with secure aggregation.
struct RobustAggregationConfig {
  // "" = off (FedAvg's weighted mean); "median" (coordinate-wise), "trimmed_mean" (coordinate-
  // wise, trim_fraction of the values cut from each end) or "multi_krum".
  std::string rule;
  double trim_fraction = 0.1;  // trimmed_mean: beta in [0, 0.5)
  int byzantine_sites = 1;     // multi_krum: f, how many sites of a round may be hostile
  int krum_selected = 0;       // multi_krum: m updates averaged; 0 = n - f
};

// FedOpt (Reddi et al., "Adaptive Federated Optimization", ICLR 2021): the coordinator treats
// each round's aggregate minus the global model as a pseudo-gradient and steps with an adaptive
// optimizer (coordinator/aggregation/adaptive_server_optimizer.h).
struct ServerOptimizerConfig {
  std::string kind;            // "" = off; "adam", "yogi" or "adagrad"
  double learning_rate = 0.01; // eta
  double beta1 = 0.9;          // first-moment decay
  double beta2 = 0.99;         // second-moment decay (adam, yogi)
  double tau = 1e-3;           // adaptivity: the smallest denominator, and sqrt(v) at the start
};

// A personalised model at each site (proto PersonalizationSpec): "finetune" or "ditto".
struct PersonalizationConfig {
  std::string method;          // "" = off
  int epochs = 1;              // epochs on the personal model per round
  bool head_only = false;      // finetune: train only the model's final layer
  double ditto_lambda = 0.1;   // ditto: pull towards the global model
};

// FedBN (Li et al., ICLR 2021; proto FedBnSpec): batch-norm layers stay at each site.
struct FedBnConfig {
  bool enabled = false;
  // What the researchers' pooled model carries: "site-average" (the sites send their statistics
  // once, in the last round, for a pooled mean and variance) or "initial" (nothing leaves).
  std::string pooled_statistics = "site-average";
};

// A clipped Gaussian mechanism: contributions clipped to L2 norm C, noise of std z C.
// `differential_privacy` (client level, DP-FedAvg: a site's model delta) and `dp_sgd` (sample
// level: each example's gradient during local training) are both configured with it.
struct GaussianMechanismConfig {
  bool enabled = false;
  double clip_norm = 1.0;         // C
  double noise_multiplier = 1.0;  // z
  double delta = 1e-5;            // the delta of the reported (epsilon, delta)
};

struct JobConfig {
  std::string name;             // job id, also the state folder name
  std::string model;            // models registry name
  int classes = 2;              // classes, grades (ordinal) or findings (multilabel)
  // "classification" (one class per image), "ordinal" (grades 0..classes-1 whose order matters),
  // "multilabel" (any of `classes` findings per image) or "segmentation" (a mask per image,
  // `classes` pixel classes, 0 = background): wire/label_task.h.
  std::string task = "classification";
  std::vector<std::string> label_names;  // `labels:`: what each class / grade / finding is called
  int image_size = 32;
  int rounds = 1;
  int sites_per_round = 1;      // sites selected each round
  int min_sites = 1;            // fewest reports that still complete a round at its deadline
  double round_deadline_s = 300;
  int local_epochs = 1;
  int batch_size = 32;
  std::string optimizer = "sgd";
  double learning_rate = 0.05;
  double momentum = 0.9;
  // "constant", or "cosine": decays the sites' learning rate over the job's rounds x local_epochs
  // epochs, from learning_rate down to 0 (training/local_training.h).
  std::string learning_rate_schedule = "constant";
  // Each site keeps its optimizer's state (Adam moments, SGD momentum) from one round to its
  // next instead of starting afresh; the state stays at the site (lost if the agent restarts).
  bool keep_optimizer_state = false;
  bool logit_adjustment = false;  // sites train with logits + log(own label frequencies)
  double proximal_mu = 0;       // FedProx: sites' loss += mu/2 ||w - global||^2 (0 = plain FedAvg)
  uint64_t seed = 1;
  // The most a single site's update may weigh in the average (its sample count). A site's weight
  // is also at most the dataset size it joined with; an update that claims more is refused.
  uint64_t max_site_samples = 1000000;
  bool augment = false;         // random resized crop, small rotation, brightness/contrast jitter
  double server_momentum = 0;   // FedAvgM: momentum of the server's update (0 = plain FedAvg)
  double server_learning_rate = 1.0;
  std::string initial_model;    // optional path to a model file; empty = initialise from seed
  SecureAggregationConfig secure_aggregation;
  RobustAggregationConfig robust_aggregation;
  ServerOptimizerConfig server_optimizer;
  PersonalizationConfig personalization;
  // SCAFFOLD (Karimireddy et al., ICML 2020): control variates correct each site's drift
  // (coordinator/aggregation/scaffold_strategy.h, training/local_training.h).
  bool scaffold = false;
  FedBnConfig fedbn;
  GaussianMechanismConfig differential_privacy;
  GaussianMechanismConfig dp_sgd;
};

// Reads the `job` section of `reader` (and checks min_sites <= sites_per_round).
JobConfig read_job_config(ConfigReader job_section);
// Loads a job file whose only top-level key is `job`.
JobConfig load_job_config(const std::string& file);
// Parses job YAML text as if read from `file` (jobs submitted through the admin API).
JobConfig parse_job_config(const std::string& text, const std::string& file);

}  // namespace fedxray

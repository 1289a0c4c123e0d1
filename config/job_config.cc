#include "config/job_config.h"

#include "config/config_reader.h"
#include "config/participant_name.h"

namespace fedxray {
namespace {

GaussianMechanismConfig read_gaussian_mechanism(ConfigReader d) {
  GaussianMechanismConfig p;
  p.enabled = d.boolean("enabled", true);
  p.clip_norm = d.number("clip_norm", 1e-9, 1e9, 1.0);
  p.noise_multiplier = d.number("noise_multiplier", 1e-3, 1e4, 1.0);
  p.delta = d.number("delta", 1e-15, 0.1, 1e-5);
  d.finish();
  return p;
}

// The job's `secure_aggregation` section; `c` holds the keys read before it.
void read_secure_aggregation(ConfigReader s, JobConfig& c) {
  SecureAggregationConfig& a = c.secure_aggregation;
  a.enabled = s.boolean("enabled", true);
  a.threshold = int(s.integer("threshold", 0, 10000, 0));
  a.neighbours = int(s.integer("neighbours", 0, 10000, 0));
  a.clip = s.number("clip", 1e-6, 1e6, 8.0);
  a.stage_timeout_s = s.number("stage_timeout_s", 1, 24 * 3600.0, 60.0);
  if (a.enabled && c.min_sites < 2) {
    s.fail("enabled", "needs job.min_sites >= 2: the sum of a single site is that site's update");
  }
  if (a.threshold > c.sites_per_round) {
    s.fail("threshold", "must not exceed sites_per_round (" + std::to_string(c.sites_per_round) +
                            "), got " + std::to_string(a.threshold));
  }
  s.finish();
}

// The job's `robust_aggregation` section; `c` holds the keys read before it.
void read_robust_aggregation(ConfigReader s, JobConfig& c) {
  RobustAggregationConfig& a = c.robust_aggregation;
  a.rule = s.choice("rule", {"median", "trimmed_mean", "multi_krum"});
  a.trim_fraction = s.number("trim_fraction", 0.0, 0.49, 0.1);
  a.byzantine_sites = int(s.integer("byzantine_sites", 0, 10000, 1));
  a.krum_selected = int(s.integer("krum_selected", 0, 10000, 0));
  if (c.secure_aggregation.enabled) {
    s.fail("rule", a.rule +
                       " needs each site's own update, which secure aggregation hides from "
                       "the coordinator: drop robust_aggregation or secure_aggregation");
  }
  if (a.rule == "trimmed_mean" && int(a.trim_fraction * c.min_sites) < 1) {
    s.fail("trim_fraction", "cuts floor(" + std::to_string(a.trim_fraction) + " x min_sites " +
                                std::to_string(c.min_sites) +
                                ") = 0 values from each end: a plain mean, no protection. Use at "
                                "least 1 / min_sites (" +
                                std::to_string(1.0 / c.min_sites).substr(0, 5) + ")");
  }
  if (a.rule == "multi_krum" && c.min_sites < 2 * a.byzantine_sites + 3) {
    s.fail("byzantine_sites",
           "multi_krum with f = " + std::to_string(a.byzantine_sites) +
               " needs min_sites >= 2f + 3 = " + std::to_string(2 * a.byzantine_sites + 3) +
               " (got " + std::to_string(c.min_sites) + ")");
  }
  if (a.krum_selected > c.min_sites - a.byzantine_sites) {
    s.fail("krum_selected", "must not exceed min_sites - byzantine_sites (" +
                                std::to_string(c.min_sites - a.byzantine_sites) + ")");
  }
  s.finish();
}

// The job's `server_optimizer` section; `c` holds the keys read before it.
void read_server_optimizer(ConfigReader s, JobConfig& c) {
  ServerOptimizerConfig& o = c.server_optimizer;
  o.kind = s.choice("kind", {"adam", "yogi", "adagrad"});
  o.learning_rate = s.number("learning_rate", 1e-6, 10.0, o.learning_rate);
  o.beta1 = s.number("beta1", 0.0, 0.999999, o.beta1);
  o.beta2 = s.number("beta2", 0.0, 0.999999, o.beta2);
  o.tau = s.number("tau", 1e-12, 10.0, o.tau);
  if (c.server_momentum > 0 || c.server_learning_rate != 1.0) {
    s.fail("kind",
           "server_optimizer replaces server_momentum and server_learning_rate (FedAvgM "
           "is the server's SGD with momentum): drop one of the two");
  }
  s.finish();
}

// The job's `personalization` section; `c` holds the keys read before it.
void read_personalization(ConfigReader s, JobConfig& c) {
  PersonalizationConfig& p = c.personalization;
  p.method = s.choice("method", {"finetune", "ditto"});
  p.epochs = int(s.integer("epochs", 1, 1000, p.epochs));
  p.head_only = s.boolean("head_only", p.head_only);
  p.ditto_lambda = s.number("lambda", 0.0, 100.0, p.ditto_lambda);
  if (p.head_only && p.method == "ditto") {
    s.fail("head_only", "applies to finetune only (ditto trains the whole personal model)");
  }
  s.finish();
}

// The job's `fedbn` section; `c` holds the keys read before it.
void read_fedbn(ConfigReader s, JobConfig& c) {
  FedBnConfig& f = c.fedbn;
  f.enabled = true;
  f.pooled_statistics = s.choice("pooled_statistics", {"site-average", "initial"}, f.pooled_statistics);
  if (c.model == "cnn-small") {
    s.fail("pooled_statistics", "FedBN keeps batch-norm layers at the sites, and model cnn-small "
                                "has none: use cnn-small-bn (the same network with batch norm)");
  }
  if (c.scaffold) {
    s.fail("pooled_statistics", "FedBN cannot be combined with scaffold in one job: pick one");
  }
  if (f.pooled_statistics == "site-average" &&
      (!c.robust_aggregation.rule.empty() || c.differential_privacy.enabled)) {
    s.fail("pooled_statistics", "site-average statistics are the pooled mean and variance, which "
                                "a robust rule or differential privacy's noise would not give: "
                                "use initial");
  }
  if (f.pooled_statistics == "site-average" &&
      (!c.server_optimizer.kind.empty() || c.server_momentum > 0 || c.server_learning_rate != 1.0)) {
    s.fail("pooled_statistics", "site-average statistics are published as the sites send them, "
                                "which a server optimizer (server_optimizer, server_momentum, "
                                "server_learning_rate) would only step towards: use initial, or "
                                "plain FedAvg");
  }
  if (!c.personalization.method.empty()) {
    s.fail("pooled_statistics", "FedBN already gives each site a model of its own (its batch-norm "
                                "layers); drop job.personalization or job.fedbn");
  }
  s.finish();
}

}  // namespace

JobConfig read_job_config(ConfigReader r) {
  JobConfig c;
  c.name = r.string("name");
  if (!is_valid_job_name(c.name)) {
    r.fail("name", std::string("must be ") + kJobNameRule + " (got \"" + c.name + "\")");
  }
  c.model = r.string("model");
  c.classes = int(r.integer("classes", 2, 1000));
  c.task = r.choice("task", {"classification", "ordinal", "multilabel", "segmentation"},
                    std::string("classification"));
  c.label_names = r.string_list("labels", std::vector<std::string>{});
  if (!c.label_names.empty() && int(c.label_names.size()) != c.classes) {
    r.fail("labels", "names " + std::to_string(c.label_names.size()) + " labels but classes is " +
                         std::to_string(c.classes) + "; give one name per class, grade or finding");
  }
  if (c.task == "multilabel" && c.classes > 63) {
    r.fail("classes", "a multilabel job has at most 63 findings, got " + std::to_string(c.classes));
  }
  c.image_size = int(r.integer("image_size", 8, 4096));
  c.rounds = int(r.integer("rounds", 1, 100000));
  c.sites_per_round = int(r.integer("sites_per_round", 1, 10000));
  c.min_sites = int(r.integer("min_sites", 1, 10000, c.sites_per_round));
  if (c.min_sites > c.sites_per_round) {
    r.fail("min_sites", "must not exceed sites_per_round (" + std::to_string(c.sites_per_round) +
                            "), got " + std::to_string(c.min_sites));
  }
  c.round_deadline_s = r.number("round_deadline_s", 1, 7 * 24 * 3600.0, 600.0);
  c.local_epochs = int(r.integer("local_epochs", 1, 1000, 1));
  c.batch_size = int(r.integer("batch_size", 1, 65536, 32));
  c.optimizer = r.choice("optimizer", {"sgd", "adam"}, std::string("sgd"));
  c.learning_rate = r.number("learning_rate", 1e-8, 10.0, 0.05);
  c.momentum = r.number("momentum", 0.0, 0.999, 0.9);
  c.seed = uint64_t(r.integer("seed", 0, INT64_MAX, 1));
  c.max_site_samples = uint64_t(r.integer("max_site_samples", 1, 1000000000, 1000000));
  c.augment = r.boolean("augment", false);
  c.keep_optimizer_state = r.boolean("keep_optimizer_state", false);
  c.logit_adjustment = r.boolean("logit_adjustment", false);
  if (c.logit_adjustment && c.task != "classification") {
    r.fail("logit_adjustment", "adjusts the logits of one-class-per-image jobs only; this job's task "
                               "is " + c.task + ": remove logit_adjustment");
  }
  c.proximal_mu = r.number("proximal_mu", 0.0, 100.0, 0.0);
  c.learning_rate_schedule =
      r.choice("learning_rate_schedule", {"constant", "cosine"}, std::string("constant"));
  c.server_momentum = r.number("server_momentum", 0.0, 0.999, 0.0);
  c.server_learning_rate = r.number("server_learning_rate", 1e-4, 10.0, 1.0);
  c.initial_model = r.path("initial_model", std::string());
  if (r.has("secure_aggregation")) read_secure_aggregation(r.section("secure_aggregation"), c);
  if (r.has("robust_aggregation")) read_robust_aggregation(r.section("robust_aggregation"), c);
  if (r.has("server_optimizer")) read_server_optimizer(r.section("server_optimizer"), c);
  if (r.has("personalization")) read_personalization(r.section("personalization"), c);
  if (r.has("differential_privacy")) {
    c.differential_privacy = read_gaussian_mechanism(r.section("differential_privacy"));
  }
  if (r.has("dp_sgd")) c.dp_sgd = read_gaussian_mechanism(r.section("dp_sgd"));
  c.scaffold = r.boolean("scaffold", false);
  if (r.has("fedbn")) read_fedbn(r.section("fedbn"), c);
  r.finish();
  return c;
}

JobConfig load_job_config(const std::string& file) {
  ConfigReader root = ConfigReader::load_file(file);
  JobConfig c = read_job_config(root.section("job"));
  root.finish();
  return c;
}

JobConfig parse_job_config(const std::string& text, const std::string& file) {
  ConfigReader root = ConfigReader::load_string(text, file);
  JobConfig c = read_job_config(root.section("job"));
  root.finish();
  return c;
}

}  // namespace fedxray

#include "config/site_policy.h"

#include <algorithm>
#include <cmath>

#include "config/config_reader.h"
#include "config/participant_name.h"

namespace fedxray {
namespace {

bool finite_in(double v, double lo, double hi) { return std::isfinite(v) && v >= lo && v <= hi; }

std::string out_of_range(const char* field, const std::string& got, const std::string& allowed) {
  return std::string("the assignment's job.") + field + " is " + got + "; this site accepts " +
         allowed + " (a newer coordinator or a misconfigured job)";
}

}  // namespace

std::string SitePolicy::malformed(const wire::JobSpec& job) const {
  if (!is_valid_job_name(job.job_id())) {
    return std::string("the assignment's job id is not a valid job name (") + kJobNameRule + ")";
  }
  if (!is_valid_job_name(job.model())) {
    return std::string("the assignment's model name is not a valid name (") + kJobNameRule + ")";
  }
  auto count = [](uint64_t v) { return std::to_string(v); };
  if (job.classes() < 2 || int64_t(job.classes()) > max_classes) {
    return out_of_range("classes", count(job.classes()),
                        "2 to " + std::to_string(max_classes) + " (site policy 'max_classes')");
  }
  if (job.image_size() < 8 || int64_t(job.image_size()) > max_image_size) {
    return out_of_range("image_size", count(job.image_size()),
                        "8 to " + std::to_string(max_image_size) + " (site policy 'max_image_size')");
  }
  if (job.batch_size() < 1 || int64_t(job.batch_size()) > max_batch_size) {
    return out_of_range("batch_size", count(job.batch_size()),
                        "1 to " + std::to_string(max_batch_size) + " (site policy 'max_batch_size')");
  }
  if (job.rounds() < 1 || job.rounds() > 100000) {
    return out_of_range("rounds", count(job.rounds()), "1 to 100000");
  }
  if (job.local_epochs() < 1 || job.local_epochs() > 1000) {
    return out_of_range("local_epochs", count(job.local_epochs()), "1 to 1000");
  }
  if (job.optimizer() != "sgd" && job.optimizer() != "adam") {
    return out_of_range("optimizer", "not one of sgd, adam", "sgd or adam");
  }
  const std::string& schedule = job.learning_rate_schedule();
  if (!schedule.empty() && schedule != "constant" && schedule != "cosine") {
    return out_of_range("learning_rate_schedule", "not one of constant, cosine", "constant or cosine");
  }
  if (!finite_in(job.learning_rate(), 1e-8, 10.0)) {
    return out_of_range("learning_rate", "outside [1e-8, 10] or not finite", "1e-8 to 10");
  }
  if (!finite_in(job.momentum(), 0.0, 0.999)) {
    return out_of_range("momentum", "outside [0, 0.999] or not finite", "0 to 0.999");
  }
  if (!finite_in(job.proximal_mu(), 0.0, 100.0)) {
    return out_of_range("proximal_mu", "outside [0, 100] or not finite", "0 to 100");
  }
  const wire::PersonalizationSpec& personal = job.personalization();
  if (!personal.method().empty()) {
    if (personal.method() != "finetune" && personal.method() != "ditto") {
      return out_of_range("personalization.method", "not one of finetune, ditto",
                          "finetune or ditto");
    }
    if (personal.epochs() < 1 || personal.epochs() > 1000) {
      return out_of_range("personalization.epochs", count(personal.epochs()), "1 to 1000");
    }
    if (!finite_in(personal.ditto_lambda(), 0.0, 100.0)) {
      return out_of_range("personalization.ditto_lambda", "outside [0, 100] or not finite",
                          "0 to 100");
    }
  }
  if (job.fedbn().enabled()) {
    const std::string& pooled = job.fedbn().pooled_statistics();
    if (pooled != "initial" && pooled != "site-average") {
      return out_of_range("fedbn.pooled_statistics", "not one of initial, site-average",
                          "initial or site-average");
    }
    if (job.scaffold()) {
      return out_of_range("fedbn", "combined with scaffold", "one of fedbn and scaffold");
    }
  }
  for (double clip : {job.differential_privacy().clip_norm(), job.dp_sgd().clip_norm()}) {
    if (!finite_in(clip, 0.0, 1e9)) return out_of_range("clip_norm", "not finite", "0 to 1e9");
  }
  if (job.differential_privacy().enabled() &&
      !finite_in(job.differential_privacy().noise_multiplier(), 1e-3, 1e4)) {
    return out_of_range("differential_privacy.noise_multiplier", "outside [1e-3, 1e4]", "1e-3 to 1e4");
  }
  // Each site adds noise / sqrt(summed_sites): only sites whose updates are summed before anyone
  // sees them (secure aggregation) may share the noise; in the clear each site adds all of it.
  const uint32_t summed = job.differential_privacy().summed_sites();
  if (job.differential_privacy().enabled() && !job.secure_aggregation().enabled() && summed > 1) {
    return out_of_range("differential_privacy.summed_sites", std::to_string(summed),
                        "1 without secure aggregation (each site must add the full noise)");
  }
  if (job.dp_sgd().enabled() && !finite_in(job.dp_sgd().noise_multiplier(), 1e-3, 1e4)) {
    return out_of_range("dp_sgd.noise_multiplier", "outside [1e-3, 1e4]", "1e-3 to 1e4");
  }
  if (job.secure_aggregation().enabled() && !finite_in(job.secure_aggregation().clip(), 1e-9, 1e9)) {
    return out_of_range("secure_aggregation.clip", "outside (0, 1e9] or not finite", "up to 1e9");
  }
  return {};
}

std::string SitePolicy::violation(const wire::JobSpec& job) const {
  if (std::string problem = malformed(job); !problem.empty()) return problem;
  if (!allowed_models.empty() &&
      std::find(allowed_models.begin(), allowed_models.end(), job.model()) == allowed_models.end()) {
    std::string list;
    for (const auto& m : allowed_models) list += (list.empty() ? "" : ", ") + m;
    return "site policy 'allowed_models': job " + job.job_id() + " trains '" + job.model() +
           "', this site allows only " + list;
  }
  if (max_local_epochs > 0 && !job.personalization().method().empty() &&
      int(job.local_epochs() + job.personalization().epochs()) > max_local_epochs) {
    return "site policy 'max_local_epochs': job " + job.job_id() + " asks for " +
           std::to_string(job.local_epochs()) + " local + " +
           std::to_string(job.personalization().epochs()) +
           " personalization epochs per round; this site allows at most " +
           std::to_string(max_local_epochs);
  }
  if (max_local_epochs > 0 && int(job.local_epochs()) > max_local_epochs) {
    return "site policy 'max_local_epochs': job " + job.job_id() + " asks for " +
           std::to_string(job.local_epochs()) + " local epochs per round, this site allows at most " +
           std::to_string(max_local_epochs);
  }
  if (require_secure_aggregation && !job.secure_aggregation().enabled()) {
    return "site policy 'require_secure_aggregation': job " + job.job_id() +
           " does not use secure aggregation; enable job.secure_aggregation to include this site";
  }
  if (require_differential_privacy && !job.differential_privacy().enabled()) {
    return "site policy 'require_differential_privacy': job " + job.job_id() +
           " does not use differential privacy; enable job.differential_privacy to include this site";
  }
  if (lifetime_epsilon > 0 && !job.differential_privacy().enabled()) {
    return "site policy 'lifetime_epsilon': job " + job.job_id() +
           " does not use differential privacy, so its privacy cost is unbounded and this site's "
           "data has a lifetime budget";
  }
  return {};
}

SitePolicy read_site_policy(ConfigReader r) {
  SitePolicy p;
  p.allowed_models = r.string_list("allowed_models", std::vector<std::string>{});
  p.max_local_epochs = int(r.integer("max_local_epochs", 0, 100000, 0));
  p.require_secure_aggregation = r.boolean("require_secure_aggregation", false);
  p.require_differential_privacy = r.boolean("require_differential_privacy", false);
  p.max_epsilon_per_job = r.number("max_epsilon_per_job", 0.0, 1e6, 0.0);
  p.lifetime_epsilon = r.number("lifetime_epsilon", 0.0, 1e6, 0.0);
  p.delta = r.number("delta", 1e-15, 0.1, 1e-5);
  p.budget_file = r.path("budget_file", std::string());
  p.max_image_size = int(r.integer("max_image_size", 8, 65536, 1024));
  p.max_batch_size = int(r.integer("max_batch_size", 1, 1 << 20, 1024));
  p.max_classes = int(r.integer("max_classes", 2, 1000000, 1000));
  p.max_model_mb = r.number("max_model_mb", 1.0, 1024.0 * 1024, 8192.0);
  p.require_filters = r.string_list("require_filters", std::vector<std::string>{});
  p.forbid_filters = r.string_list("forbid_filters", std::vector<std::string>{});
  for (const char* key : {"require_filters", "forbid_filters"}) {
    for (const auto& name : key[0] == 'r' ? p.require_filters : p.forbid_filters) {
      if (std::find(kOutboundFilters.begin(), kOutboundFilters.end(), name) ==
          kOutboundFilters.end()) {
        r.fail(key, "names '" + name + "', which is not an outbound filter (known: "
                    "dp-clip-noise, privacy-budget, sample-weight-cap, "
                    "keep-batch-norm-local)");
      }
    }
  }
  for (const auto& name : p.forbid_filters) {
    if (name == "sample-weight-cap") {
      r.fail("forbid_filters", "names 'sample-weight-cap', which every job uses: this site could "
                               "run no job at all");
    }
    if (name == "dp-clip-noise" && p.require_differential_privacy) {
      r.fail("forbid_filters", "names 'dp-clip-noise', which require_differential_privacy "
                               "requires: no job could run here; drop one of the two");
    }
    if (std::find(p.require_filters.begin(), p.require_filters.end(), name) !=
        p.require_filters.end()) {
      r.fail("forbid_filters", "names '" + name + "', which require_filters also names: no job "
                               "could run here; remove it from one of the two lists");
    }
  }
  if ((p.max_epsilon_per_job > 0 || p.lifetime_epsilon > 0) && p.budget_file.empty()) {
    r.fail("budget_file", "is required with max_epsilon_per_job or lifetime_epsilon: the spent "
                          "budget must survive restarts (e.g. budget_file: privacy-budget.txt)");
  }
  r.finish();
  return p;
}

}  // namespace fedxray

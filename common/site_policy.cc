#include "common/site_policy.h"

#include <algorithm>

#include "common/config_reader.h"

namespace fedxray {

std::string SitePolicy::violation(const wire::JobSpec& job) const {
  if (!allowed_models.empty() &&
      std::find(allowed_models.begin(), allowed_models.end(), job.model()) == allowed_models.end()) {
    std::string list;
    for (const auto& m : allowed_models) list += (list.empty() ? "" : ", ") + m;
    return "site policy 'allowed_models': job " + job.job_id() + " trains '" + job.model() +
           "', this site allows only " + list;
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
  if ((p.max_epsilon_per_job > 0 || p.lifetime_epsilon > 0) && p.budget_file.empty()) {
    r.fail("budget_file", "is required with max_epsilon_per_job or lifetime_epsilon: the spent "
                          "budget must survive restarts (e.g. budget_file: privacy-budget.txt)");
  }
  r.finish();
  return p;
}

}  // namespace fedxray

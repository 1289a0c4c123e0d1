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
  return {};
}

SitePolicy read_site_policy(ConfigReader r) {
  SitePolicy p;
  p.allowed_models = r.string_list("allowed_models", std::vector<std::string>{});
  p.max_local_epochs = int(r.integer("max_local_epochs", 0, 100000, 0));
  p.require_secure_aggregation = r.boolean("require_secure_aggregation", false);
  r.finish();
  return p;
}

}  // namespace fedxray

// SitePolicy: the site's veto, set by hospital IT in the `policy:` section of the site config.
// The site agent checks every assignment against it before downloading anything; a job that
// breaks a rule is refused with a message naming the rule, and the coordinator records that
// reason for the admin. Torch-free.
//
// Rules: which models may be trained, the most local epochs per round, whether the job must use
// secure aggregation or differential privacy, and the privacy budget: the most epsilon one job
// may spend on this site's data and the most all jobs together may ever spend (kept on disk by
// the site agent's PrivacyBudget, which checks those two).
#pragma once

#include <string>
#include <vector>

#include "fedxray/proto/fedxray.pb.h"

namespace fedxray {

class ConfigReader;

struct SitePolicy {
  std::vector<std::string> allowed_models;  // empty = any model the site supports
  int max_local_epochs = 0;                 // 0 = no limit
  bool require_secure_aggregation = false;
  bool require_differential_privacy = false;
  double max_epsilon_per_job = 0;   // 0 = no cap
  double lifetime_epsilon = 0;      // 0 = no cap; with a cap, jobs without DP are refused
  double delta = 1e-5;              // the delta at which this site counts epsilon
  std::string budget_file;          // where the spent budget is kept (required with a cap)

  // Empty when `job` complies with the rules that need no state (all but the two epsilon caps);
  // otherwise "site policy '<rule>': <what the job asks> <fix>".
  std::string violation(const wire::JobSpec& job) const;
};

SitePolicy read_site_policy(ConfigReader policy_section);

}  // namespace fedxray

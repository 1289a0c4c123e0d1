// SitePolicy: the site's veto, set by hospital IT in the `policy:` section of the site config.
// The site agent checks every assignment against it before downloading anything; a job that
// breaks a rule is refused with a message naming the rule, and the coordinator records that
// reason for the admin. Torch-free.
//
// Rules so far: which models may be trained, the most local epochs per round, and whether the
// job must use secure aggregation. Differential-privacy rules and the lifetime privacy budget
// come with issue #5.
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

  // Empty when `job` complies; otherwise "site policy '<rule>': <what the job asks> <fix>".
  std::string violation(const wire::JobSpec& job) const;
};

SitePolicy read_site_policy(ConfigReader policy_section);

}  // namespace fedxray

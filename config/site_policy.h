// SitePolicy: the site's veto, set by hospital IT in the `policy:` section of the site config.
// The site agent checks every assignment against it before downloading anything; a job that
// breaks a rule is refused with a message naming the rule, and the coordinator records that
// reason for the admin. Torch-free.
//
// Rules: which models may be trained, the most local epochs per round, whether the job must use
// secure aggregation or differential privacy, and the privacy budget: the most epsilon one job
// may spend on this site's data and the most all jobs together may ever spend (kept on disk by
// the site agent's PrivacyBudget, which checks those two).
//
// Before any rule, every field of the assignment is checked as untrusted input (a buggy or
// hostile coordinator must not make the site misbehave): the job id and model name follow the
// coordinator's own naming rules, numbers are finite and in range, and the sizes that set the
// site's memory use (image_size, batch_size, classes, the announced model size) are within the
// limits below, which hospital IT may lower or raise.
#pragma once

#include <string>
#include <vector>

#include "fedxray/proto/fedxray.pb.h"

namespace fedxray {

class ConfigReader;

inline const std::vector<std::string> kOutboundFilters = {
    "dp-clip-noise", "privacy-budget", "sample-weight-cap", "keep-batch-norm-local"};

struct SitePolicy {
  std::vector<std::string> allowed_models;  // empty = any model the site supports
  int max_local_epochs = 0;                 // 0 = no limit
  bool require_secure_aggregation = false;
  bool require_differential_privacy = false;
  double max_epsilon_per_job = 0;   // 0 = no cap
  double lifetime_epsilon = 0;      // 0 = no cap; with a cap, jobs without DP are refused
  double delta = 1e-5;              // the delta at which this site counts epsilon
  std::string budget_file;          // where the spent budget is kept (required with a cap)
  int max_image_size = 1024;        // largest image side a job may ask for
  int max_batch_size = 1024;
  int max_classes = 1000;
  double max_model_mb = 8192;       // largest global model the site downloads
  // Outbound filters (site-agent/filters/site_filters.h) every job must use on this site's
  // updates, by name: one of kOutboundFilters.
  std::vector<std::string> require_filters;
  // Outbound filters no job may switch on for this site's updates (a job that would is refused);
  // never one that require_filters names.
  std::vector<std::string> forbid_filters;

  uint64_t max_model_bytes() const { return uint64_t(max_model_mb * 1024 * 1024); }

  // Empty when `job` complies with the rules that need no state (all but the two epsilon caps);
  // otherwise malformed()'s reason or "site policy '<rule>': <what the job asks> <fix>".
  // Either is safe to send to the coordinator: no field value is echoed unchecked.
  std::string violation(const wire::JobSpec& job) const;
  // Empty when every field of `job` is well formed and within the size limits above.
  std::string malformed(const wire::JobSpec& job) const;
};

SitePolicy read_site_policy(ConfigReader policy_section);

}  // namespace fedxray

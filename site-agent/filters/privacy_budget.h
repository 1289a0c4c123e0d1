// PrivacyBudget: how much differential privacy this site's data has spent, per job and over its
// lifetime, kept on disk so it survives restarts (hospital IT shows this file's report to the
// privacy officer). Spending is counted on the site's side, conservatively: every round the
// site takes part in is one Gaussian mechanism step with no sampling amplification (the site
// does not rely on the coordinator's choice of sites), at the job's noise multiplier.
//
// File format: JSON, {"format": "fedxray-privacy-budget", "version": 2, "lifetime": "rdp-v1 ...",
// "jobs": {"<id>": "rdp-v1 ...", ...}}, rewritten atomically after each round. No field value
// (a job id comes from the coordinator) can add or replace a record. Files of version 1 (lines
// "lifetime rdp-v1 ..." and "job <id> rdp-v1 ...") are still read, and refused if they hold
// more than one lifetime record or one job twice (the sign of an id that forged a line). A file
// that cannot be read or parsed is an error naming the file, never a silent reset.
// Thread-safety: one site agent thread.
#pragma once

#include <map>
#include <string>

#include "config/site_policy.h"
#include "fedxray/proto/fedxray.pb.h"
#include "privacy/dp/rdp_accountant.h"

namespace fedxray {

class PrivacyBudget {
 public:
  // Loads `file` if it exists; an empty path keeps the budget in memory only.
  explicit PrivacyBudget(std::string file);

  // Empty when taking part in `round` of `job` keeps within the policy's caps; otherwise the
  // reason, naming the rule. A DP job is refused up front if all its remaining rounds would
  // exceed max_epsilon_per_job.
  std::string check_round(const SitePolicy& policy, const wire::JobSpec& job, int round) const;
  // Counts one round of `job` (a DP job) and persists. Call before the update leaves the site.
  void spend_round(const wire::JobSpec& job);

  double lifetime_epsilon(double delta) const { return lifetime_.epsilon(delta).epsilon; }
  double job_epsilon(const std::string& job_id, double delta) const;

 private:
  void save() const;
  void load_json(const std::string& text);
  void load_lines(const std::string& text);  // version 1

  std::string file_;
  RdpAccountant lifetime_;
  std::map<std::string, RdpAccountant> jobs_;
};

}  // namespace fedxray

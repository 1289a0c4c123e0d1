#include "site-agent/privacy_budget.h"

#include <filesystem>
#include <sstream>

#include "common/atomic_file.h"
#include "common/error.h"

namespace fedxray {
namespace {

std::string fixed(double v) {
  std::ostringstream out;
  out.precision(3);
  out << std::fixed << v;
  return out.str();
}

}  // namespace

PrivacyBudget::PrivacyBudget(std::string file) : file_(std::move(file)) {
  if (file_.empty() || !std::filesystem::exists(file_)) return;
  std::istringstream in(read_file(file_));
  std::string line;
  int number = 0;
  bool have_lifetime = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      if (line.rfind("lifetime ", 0) == 0) {
        lifetime_ = RdpAccountant::parse(line.substr(9));
        have_lifetime = true;
      } else if (line.rfind("job ", 0) == 0) {
        const std::size_t space = line.find(' ', 4);
        if (space == std::string::npos) throw Error("no budget after the job id");
        jobs_[line.substr(4, space - 4)] = RdpAccountant::parse(line.substr(space + 1));
      } else {
        throw Error("unknown record");
      }
    } catch (const Error& e) {
      throw Error(file_ + ":" + std::to_string(number) + ": the privacy budget file is corrupt (" +
                  e.what() + "); restore it from backup: the site refuses DP jobs rather than "
                  "forget what its data has spent");
    }
  }
  if (!have_lifetime) throw Error(file_ + ": the privacy budget file has no lifetime record");
}

double PrivacyBudget::job_epsilon(const std::string& job_id, double delta) const {
  auto it = jobs_.find(job_id);
  return it == jobs_.end() ? 0.0 : it->second.epsilon(delta).epsilon;
}

std::string PrivacyBudget::check_round(const SitePolicy& policy, const wire::JobSpec& job,
                                       int round) const {
  const auto& dp = job.differential_privacy();
  if (!dp.enabled() || (policy.max_epsilon_per_job <= 0 && policy.lifetime_epsilon <= 0)) return {};
  const double z = dp.noise_multiplier();
  if (policy.max_epsilon_per_job > 0) {
    RdpAccountant projected;
    auto it = jobs_.find(job.job_id());
    if (it != jobs_.end()) projected = it->second;
    const int remaining = std::max(1, int(job.rounds()) - round + 1);
    projected.add_sampled_gaussian(1.0, z, remaining);
    const double eps = projected.epsilon(policy.delta).epsilon;
    if (eps > policy.max_epsilon_per_job) {
      return "site policy 'max_epsilon_per_job': job " + job.job_id() + " would spend epsilon " +
             fixed(eps) + " (delta " + std::to_string(policy.delta) + ") on this site's data over its " +
             std::to_string(remaining) + " remaining rounds at noise multiplier " + fixed(z) +
             "; this site allows at most " + fixed(policy.max_epsilon_per_job) +
             " (more noise or fewer rounds would fit)";
    }
  }
  if (policy.lifetime_epsilon > 0) {
    RdpAccountant after = lifetime_;
    after.add_sampled_gaussian(1.0, z, 1);
    const double eps = after.epsilon(policy.delta).epsilon;
    if (eps > policy.lifetime_epsilon) {
      return "site policy 'lifetime_epsilon': this site's data has spent epsilon " +
             fixed(lifetime_epsilon(policy.delta)) + " of its lifetime budget " +
             fixed(policy.lifetime_epsilon) + "; one more round of job " + job.job_id() +
             " would bring it to " + fixed(eps) + ", so the site takes no further jobs on this data";
    }
  }
  return {};
}

void PrivacyBudget::spend_round(const wire::JobSpec& job) {
  const auto& dp = job.differential_privacy();
  if (!dp.enabled()) return;
  lifetime_.add_sampled_gaussian(1.0, dp.noise_multiplier(), 1);
  jobs_[job.job_id()].add_sampled_gaussian(1.0, dp.noise_multiplier(), 1);
  save();
}

void PrivacyBudget::save() const {
  if (file_.empty()) return;
  std::string text = "lifetime " + lifetime_.serialize() + "\n";
  for (const auto& [id, spent] : jobs_) text += "job " + id + " " + spent.serialize() + "\n";
  write_file_atomically(file_, text, 0600);
}

}  // namespace fedxray

#include "site-agent/filters/privacy_budget.h"

#include <filesystem>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"

namespace fedxray {
namespace {

std::string fixed(double v) {
  std::ostringstream out;
  out.precision(3);
  out << std::fixed << v;
  return out.str();
}

constexpr const char* kFormat = "fedxray-privacy-budget";

std::string corrupt(const std::string& where, const std::string& what) {
  return where + ": the privacy budget file is corrupt (" + what + "); restore it from backup: " +
         "the site refuses DP jobs rather than forget what its data has spent";
}

}  // namespace

void PrivacyBudget::load_lines(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  bool have_lifetime = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      if (line.rfind("lifetime ", 0) == 0) {
        if (have_lifetime) throw Error("a second lifetime record");
        lifetime_ = RdpAccountant::parse(line.substr(9));
        have_lifetime = true;
      } else if (line.rfind("job ", 0) == 0) {
        const std::size_t space = line.find(' ', 4);
        if (space == std::string::npos) throw Error("no budget after the job id");
        const std::string id = line.substr(4, space - 4);
        if (jobs_.count(id)) throw Error("job " + id + " recorded twice");
        jobs_[id] = RdpAccountant::parse(line.substr(space + 1));
      } else {
        throw Error("unknown record");
      }
    } catch (const Error& e) {
      throw Error(corrupt(file_ + ":" + std::to_string(number), e.what()));
    }
  }
  if (!have_lifetime) throw Error(file_ + ": the privacy budget file has no lifetime record");
}

void PrivacyBudget::load_json(const std::string& text) {
  try {
    const nlohmann::json doc = nlohmann::json::parse(text);
    if (!doc.is_object() || doc.value("format", "") != kFormat || doc.value("version", 0) != 2) {
      throw Error(std::string("not a \"") + kFormat + "\" version 2 document");
    }
    lifetime_ = RdpAccountant::parse(doc.at("lifetime").get<std::string>());
    for (const auto& [id, spent] : doc.at("jobs").items()) {
      jobs_[id] = RdpAccountant::parse(spent.get<std::string>());
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(corrupt(file_, e.what()));
  } catch (const Error& e) {
    throw Error(corrupt(file_, e.what()));
  }
}

PrivacyBudget::PrivacyBudget(std::string file) : file_(std::move(file)) {
  if (file_.empty() || !std::filesystem::exists(file_)) return;
  const std::string text = read_file(file_);
  if (text.find_first_not_of(" \t\r\n") != std::string::npos &&
      text[text.find_first_not_of(" \t\r\n")] == '{') {
    load_json(text);
  } else {
    load_lines(text);  // version 1
  }
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
  nlohmann::json doc = {{"format", kFormat}, {"version", 2}, {"lifetime", lifetime_.serialize()},
                        {"jobs", nlohmann::json::object()}};
  for (const auto& [id, spent] : jobs_) doc["jobs"][id] = spent.serialize();
  write_file_atomically(file_, doc.dump(2) + "\n", 0600);
}

}  // namespace fedxray

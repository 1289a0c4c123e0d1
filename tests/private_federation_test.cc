// Differential privacy end to end: DP-FedAvg jobs over loopback mTLS, the coordinator's
// per-round (epsilon, delta) report, and the site's privacy budget and policy, kept on disk.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "wire/model_file.h"
#include "privacy/dp/rdp_accountant.h"
#include "site-agent/site_agent.h"
#include "tests/coordinator_fixture.h"
#include "tests/shift_trainer.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

std::vector<nlohmann::json> records(const CoordinatorFixture& c) {
  std::vector<nlohmann::json> out;
  std::ifstream in(c.runner->store().metrics_path());
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Runs the fixture's job with one agent per (name, policy), all ShiftTrainers of `scale`.
void run_sites(CoordinatorFixture& c, const std::vector<std::pair<std::string, SitePolicy>>& sites,
               float scale) {
  std::vector<std::unique_ptr<ShiftTrainer>> trainers;
  std::vector<std::unique_ptr<SiteAgent>> agents;
  for (const auto& [name, policy] : sites) {
    trainers.push_back(std::make_unique<ShiftTrainer>(scale, 1, 50));
    agents.push_back(std::make_unique<SiteAgent>(
        dial(c.target(), kit(name)), SiteAgentOptions{name, 30, read_site_credentials(name, kit(name)), policy},
        *trainers.back()));
  }
  c.start_rounds();
  std::vector<std::thread> threads;
  for (auto& a : agents) threads.emplace_back([&a] { a->run(); });
  for (auto& t : threads) t.join();
  c.rounds.join();
}

double distance(const ModelBlob& a, const ModelBlob& b) {
  double sum = 0;
  for (const auto& t : a.manifest.tensors()) {
    if (t.dtype() != wire::FLOAT32) continue;
    for (uint64_t k = 0; k < t.nbytes() / 4; ++k) {
      float x, y;
      std::memcpy(&x, a.bytes.data() + t.offset() + 4 * k, 4);
      std::memcpy(&y, b.bytes.data() + t.offset() + 4 * k, 4);
      sum += (double(x) - y) * (double(x) - y);
    }
  }
  return std::sqrt(sum);
}

}  // namespace

TEST_CASE("DP-FedAvg: clipped, noised updates and an (epsilon, delta) report every round", "[dp-federation]") {
  JobConfig job = small_job("dp-job", 3, 2, 2);
  job.differential_privacy.enabled = true;
  job.differential_privacy.clip_norm = 0.5;
  job.differential_privacy.noise_multiplier = 0.8;
  job.differential_privacy.delta = 1e-5;
  CoordinatorFixture c(job, {"site-a", "site-b", "site-c"}, {64, 1000});
  run_sites(c, {{"site-a", {}}, {"site-b", {}}, {"site-c", {}}}, 0.5f);
  REQUIRE(c.succeeded);
  const auto rs = records(c);
  REQUIRE(rs.size() == 3);
  RdpAccountant expected;
  double previous = 0;
  for (const auto& r : rs) {
    INFO(r.dump());
    REQUIRE(r["status"] == "completed");
    REQUIRE(r["total_samples"] == 2);  // equal weights: one per site
    // q = 2 of the 3 admitted sites per round, z = 0.8, one step per round.
    expected.add_sampled_gaussian(2.0 / 3.0, 0.8);
    REQUIRE(r["privacy"]["sampling_rate"].get<double>() == Approx(2.0 / 3.0));
    REQUIRE(r["privacy"]["epsilon"].get<double>() == Approx(expected.epsilon(1e-5).epsilon));
    REQUIRE(r["privacy"]["epsilon"].get<double>() > previous);
    previous = r["privacy"]["epsilon"].get<double>();
  }
  // Each site's delta (norm ~ 0.5 * 2 * sqrt(1064) ~ 33) was clipped to 0.5 before it left: the
  // pooled model moved by at most 3 rounds x 0.5, plus the noise of the mean (std 0.8 x 0.5 /
  // sqrt(2) per coordinate, so about 0.28 x sqrt(1064 x 3) in norm over 3 rounds).
  const ModelBlob pooled = read_model_file(c.runner->store().pooled_path());
  const double moved = distance(pooled, c.initial);
  CHECK(moved > 1.0);        // the noise is really there
  CHECK(moved < 1.5 + 25.0);  // and the 33-norm deltas were not (3 x 33 ~ 100)
}

TEST_CASE("DP with secure aggregation: sites share the noise and the round still completes", "[dp-federation]") {
  JobConfig job = small_job("dp-secure", 2, 3, 3);
  job.differential_privacy.enabled = true;
  job.differential_privacy.noise_multiplier = 1.0;
  job.secure_aggregation.enabled = true;
  job.secure_aggregation.stage_timeout_s = 10;
  CoordinatorFixture c(job, {"site-a", "site-b", "site-c"}, {64, 200});
  REQUIRE(c.runner->job_spec().differential_privacy().summed_sites() == 3);
  run_sites(c, {{"site-a", {}}, {"site-b", {}}, {"site-c", {}}}, 0.01f);
  REQUIRE(c.succeeded);
  for (const auto& r : records(c)) {
    INFO(r.dump());
    REQUIRE(r["secure_aggregation"]["recovered"] == true);
    REQUIRE(r["total_samples"] == 3);
    REQUIRE(r["privacy"]["sampling_rate"].get<double>() == Approx(1.0));
  }
}

TEST_CASE("site privacy budget: per-job cap, lifetime cap across restarts, corrupt file", "[dp-federation]") {
  TempDir dir;
  const std::string budget = dir.path + "/privacy-budget.txt";
  // One round at z = 2 without sampling: RDP a/8 per round.
  RdpAccountant one, two, three;
  one.add_sampled_gaussian(1.0, 2.0, 1);
  two.add_sampled_gaussian(1.0, 2.0, 2);
  three.add_sampled_gaussian(1.0, 2.0, 3);
  SitePolicy policy;
  policy.budget_file = budget;
  policy.delta = 1e-5;
  policy.lifetime_epsilon = (two.epsilon(1e-5).epsilon + three.epsilon(1e-5).epsilon) / 2;  // 2 rounds fit

  JobConfig job = small_job("dp-budget", 3, 1, 1);
  job.differential_privacy.enabled = true;
  job.differential_privacy.noise_multiplier = 2.0;
  {
    CoordinatorFixture c(job, {"site-a"}, {64, 100});
    run_sites(c, {{"site-a", policy}}, 0.01f);
    REQUIRE_FALSE(c.succeeded);  // round 3: the only site refused, fewer than min_sites
    const auto rs = records(c);
    REQUIRE(rs.size() == 3);
    REQUIRE(rs[0]["status"] == "completed");
    REQUIRE(rs[1]["status"] == "completed");
    INFO(rs[2].dump());
    REQUIRE_THAT(rs[2]["sites"][0]["reason"].get<std::string>(),
                 Catch::Contains("site policy 'lifetime_epsilon'") &&
                     Catch::Contains("takes no further jobs on this data"));
  }
  // The budget is on disk: a restarted site agent knows what was spent and refuses a new job.
  PrivacyBudget reloaded(budget);
  CHECK(reloaded.lifetime_epsilon(1e-5) == Approx(two.epsilon(1e-5).epsilon));
  CHECK(reloaded.job_epsilon("dp-budget", 1e-5) == Approx(two.epsilon(1e-5).epsilon));
  {
    JobConfig next = small_job("dp-next", 1, 1, 1);
    next.differential_privacy.enabled = true;
    next.differential_privacy.noise_multiplier = 2.0;
    CoordinatorFixture c(next, {"site-a"}, {64, 100});
    run_sites(c, {{"site-a", policy}}, 0.01f);
    REQUIRE_FALSE(c.succeeded);
    REQUIRE_THAT(records(c)[0]["sites"][0]["reason"].get<std::string>(),
                 Catch::Contains("site policy 'lifetime_epsilon'"));
  }
  // A per-job cap refuses a job whose rounds would exceed it, before anything is trained.
  SitePolicy strict;
  strict.max_epsilon_per_job = one.epsilon(1e-5).epsilon * 1.5;  // 1 round fits, 3 do not
  wire::JobSpec spec = CoordinatorFixture(job, {"site-a"}, {8}).runner->job_spec();
  PrivacyBudget fresh("");
  CHECK_THAT(fresh.check_round(strict, spec, 1), Catch::Contains("site policy 'max_epsilon_per_job'") &&
                                                     Catch::Contains("3 remaining rounds"));
  CHECK(fresh.check_round(strict, spec, 3).empty());  // the last round alone fits
  // A corrupt budget file is an error naming the file, never a silent reset.
  write_file_atomically(budget, "lifetime rdp-v1 0.5 garbage\n");
  CHECK_THROWS_WITH(PrivacyBudget(budget), Catch::Contains(budget + ":1:") &&
                                               Catch::Contains("corrupt"));
  // And a plain job is refused outright by a site with a lifetime budget.
  wire::JobSpec plain = spec;
  plain.clear_differential_privacy();
  CHECK_THAT(policy.violation(plain), Catch::Contains("site policy 'lifetime_epsilon'"));
}

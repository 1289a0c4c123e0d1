// The site agent against a buggy or hostile coordinator: every field of an assignment is checked,
// the privacy budget cannot be forged through a job id, a failing round does not end the agent,
// and nothing is kept for a job once it is over.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <new>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "config/site_policy.h"
#include "site-agent/filters/privacy_budget.h"
#include "site-agent/site_agent.h"
#include "tests/coordinator_fixture.h"
#include "tests/shift_trainer.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

wire::JobSpec valid_job() {
  JobConfig job = small_job("well-formed", 2, 1, 1);
  return CoordinatorFixture(job, {"site-a"}, {8}).runner->job_spec();
}

// A ShiftTrainer that fails the given round with `failure`, and remembers the jobs it was told
// are over.
class FailingTrainer : public ShiftTrainer {
 public:
  FailingTrainer(int failing_round, std::function<void()> failure)
      : ShiftTrainer(0.01f, 1, 50), failing_round_(failing_round), failure_(std::move(failure)) {}
  TrainingResult train(const wire::JobSpec& job, int round, const ModelBlob& global,
                       const TrainingProgress& progress) override {
    if (round == failing_round_) failure_();
    return ShiftTrainer::train(job, round, global, progress);
  }
  void end_job(const std::string& job_id) override { ended.push_back(job_id); }
  std::vector<std::string> ended;

 private:
  int failing_round_;
  std::function<void()> failure_;
};

std::string site_reason(const CoordinatorFixture& c, int round, const std::string& site) {
  std::ifstream in(c.runner->store().metrics_path());
  for (std::string line; std::getline(in, line);) {
    auto record = nlohmann::json::parse(line);
    if (record["round"] != round) continue;
    for (const auto& s : record["sites"]) {
      if (s["site"] == site) return s.value("reason", "reported");
    }
  }
  return "no record";
}

}  // namespace

TEST_CASE("an assignment with a malformed field is refused, naming the field", "[site][hostile]") {
  SitePolicy policy;
  CHECK(policy.violation(valid_job()).empty());
  auto refused = [&](const std::function<void(wire::JobSpec&)>& change) {
    wire::JobSpec job = valid_job();
    change(job);
    return policy.violation(job);
  };
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_job_id("x\nlifetime rdp-v1 0"); }),
             Catch::Contains("job id is not a valid job name"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_job_id(""); }),
             Catch::Contains("job id is not a valid job name"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_model("../../etc/passwd"); }),
             Catch::Contains("model name is not a valid name"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_image_size(100000); }),
             Catch::Contains("job.image_size is 100000") && Catch::Contains("max_image_size"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_batch_size(0); }),
             Catch::Contains("job.batch_size is 0"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_classes(4000000000u); }),
             Catch::Contains("job.classes") && Catch::Contains("max_classes"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_learning_rate(std::nan("")); }),
             Catch::Contains("job.learning_rate"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_optimizer("rmsprop\n"); }),
             Catch::Contains("job.optimizer"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_learning_rate_schedule("warp"); }),
             Catch::Contains("job.learning_rate_schedule"));
  CHECK_THAT(refused([](wire::JobSpec& j) { j.set_local_epochs(0); }),
             Catch::Contains("job.local_epochs"));
  CHECK_THAT(refused([](wire::JobSpec& j) {
               j.mutable_differential_privacy()->set_enabled(true);
               j.mutable_differential_privacy()->set_noise_multiplier(INFINITY);
             }),
             Catch::Contains("differential_privacy.noise_multiplier"));
  CHECK_THAT(refused([](wire::JobSpec& j) {
               j.mutable_differential_privacy()->set_enabled(true);
               j.mutable_differential_privacy()->set_noise_multiplier(1.0);
               j.mutable_differential_privacy()->set_summed_sites(1000000);  // in the clear
             }),
             Catch::Contains("differential_privacy.summed_sites"));
  SitePolicy small;
  small.max_image_size = 16;
  CHECK_THAT(small.violation(valid_job()), Catch::Contains("8 to 16 (site policy 'max_image_size')"));
}

TEST_CASE("a job id cannot forge a privacy budget record", "[site][hostile][dp]") {
  TempDir dir;
  const std::string file = dir.path + "/budget.json";
  wire::JobSpec job = valid_job();
  job.mutable_differential_privacy()->set_enabled(true);
  job.mutable_differential_privacy()->set_noise_multiplier(1.0);
  double spent = 0;
  {
    PrivacyBudget budget(file);
    budget.spend_round(job);
    // Even if an id with a line break got this far, it stays one job's record.
    job.set_job_id("x\nlifetime rdp-v1 0 0 0\njob y");
    budget.spend_round(job);
    spent = budget.lifetime_epsilon(1e-5);
  }
  PrivacyBudget reloaded(file);
  CHECK(reloaded.lifetime_epsilon(1e-5) == Approx(spent));
  CHECK(reloaded.job_epsilon("x\nlifetime rdp-v1 0 0 0\njob y", 1e-5) > 0);
  CHECK(nlohmann::json::parse(read_file(file))["format"] == "fedxray-privacy-budget");

  // A version-1 file forged that way (a second lifetime record) is refused, never believed.
  RdpAccountant one;
  one.add_sampled_gaussian(1.0, 1.0, 1);
  const std::string v1 = dir.path + "/budget-v1.txt";
  write_file_atomically(v1, "lifetime " + one.serialize() + "\njob a " + one.serialize() + "\n");
  CHECK(PrivacyBudget(v1).lifetime_epsilon(1e-5) == Approx(one.epsilon(1e-5).epsilon));
  write_file_atomically(v1, "lifetime " + one.serialize() + "\njob x " + one.serialize() +
                                "\nlifetime " + RdpAccountant().serialize() + "\n");
  CHECK_THROWS_WITH(PrivacyBudget(v1), Catch::Contains("corrupt") &&
                                           Catch::Contains("a second lifetime record"));
}

TEST_CASE("any exception in a round fails that round only, the agent serves the next",
          "[site][hostile]") {
  auto failure = GENERATE(as<std::string>{}, "bad_alloc", "runtime_error", "int");
  INFO(failure);
  JobConfig job = small_job("survive", 2, 2, 1);
  CoordinatorFixture c(job, {"site-a", "site-b"}, {64, 100});
  FailingTrainer flaky(1, [failure] {
    if (failure == "bad_alloc") throw std::bad_alloc();
    if (failure == "runtime_error") throw std::runtime_error("/var/lib/secret/path: disk on fire");
    throw 42;
  });
  ShiftTrainer steady(0.01f, 1, 50);
  SiteAgent a(dial(c.target(), kit("site-a")), SiteAgentOptions{"site-a", 30}, flaky);
  SiteAgent b(dial(c.target(), kit("site-b")), SiteAgentOptions{"site-b", 30}, steady);
  std::vector<int> a_uploaded;
  a.on_uploaded([&](int round, const TrainingResult&) { a_uploaded.push_back(round); });
  c.start_rounds();
  std::thread tb([&] { b.run(); });
  CHECK_NOTHROW(a.run());
  tb.join();
  c.rounds.join();
  CHECK(a.counters().rounds_failed == 1);
  CHECK(a_uploaded == std::vector<int>{2});
  CHECK(c.succeeded);
  // The coordinator learns that the round failed, not the site's paths.
  const std::string reason = site_reason(c, 1, "site-a");
  CHECK(reason.find("the reason is in the site's log") != std::string::npos);
  CHECK(reason.find("/var/lib/secret") == std::string::npos);
  CHECK(site_reason(c, 2, "site-a") == "reported");
  CHECK(flaky.ended == std::vector<std::string>{"survive"});  // told the job is over, once
}

TEST_CASE("a global model larger than the site's max_model_mb is refused before download",
          "[site][hostile]") {
  CoordinatorFixture c(small_job("big-model", 1, 1, 1), {}, {64, 1000});
  auto a = c.stub(kit("site-a"));
  REQUIRE(join(*a, "site-a").ok());
  c.start_rounds();
  for (int i = 0; i < 36; ++i) {
    grpc::ClientContext context;
    wire::WorkReply w;
    REQUIRE(a->GetWork(&context, wire::WorkRequest(), &w).ok());
    if (w.kind() == wire::WorkReply::TRAIN) break;
  }
  CHECK_THROWS_WITH(download_model(*a, "big-model", 1, 1024),
                    Catch::Contains("max_model_mb") && Catch::Contains("refuses the round"));
  CHECK(download_model(*a, "big-model", 1, 1 << 20).bytes == c.initial.bytes);
}

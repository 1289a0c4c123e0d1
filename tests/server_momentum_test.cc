// FedAvgM's server step, computed by hand for two rounds.
#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>

#include "config/job_config.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/secure_round.h"
#include "privacy/secagg/fixed_point.h"
#include "coordinator/aggregation/server_momentum.h"
#include "coordinator/aggregation/strategy.h"
#include "base/atomic_file.h"
#include "base/error.h"
#include "wire/model_file.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

float element(const ModelBlob& m, std::size_t k) {
  float v;
  std::memcpy(&v, m.bytes.data() + m.manifest.tensors(0).offset() + 4 * k, 4);
  return v;
}

ModelBlob shifted(const ModelBlob& m, float delta) {
  ModelBlob out = m;
  const auto& t = out.manifest.tensors(0);
  for (uint64_t k = 0; k < t.nbytes() / 4; ++k) {
    float v;
    std::memcpy(&v, out.bytes.data() + t.offset() + 4 * k, 4);
    v += delta;
    std::memcpy(out.bytes.data() + t.offset() + 4 * k, &v, 4);
  }
  int64_t counter = 99;  // the int64 tensor: taken from the average as it is
  std::memcpy(out.bytes.data() + out.manifest.tensors(1).offset(), &counter, 8);
  out.seal();
  return out;
}

}  // namespace

TEST_CASE("server momentum: m = beta m + (avg - prev), next = prev + lr m", "[fedavgm]") {
  testing::TempDir dir;
  const ModelBlob g0 = testing::make_model({10}, 1);
  write_model_file(dir.path + "/g0.fxm", g0);
  ServerMomentum opt(0.5, 2.0);
  // Round 1: the average moved every weight by +0.1 -> m = 0.1, next = prev + 0.2.
  {
    ModelFileReader prev(dir.path + "/g0.fxm");
    ModelFileWriter out(dir.path + "/g1.fxm", g0.manifest);
    opt.apply(prev, shifted(g0, 0.1f), out);
    out.commit();
  }
  const ModelBlob g1 = read_model_file(dir.path + "/g1.fxm");
  for (std::size_t k = 0; k < 10; ++k) CHECK(element(g1, k) == Approx(element(g0, k) + 0.2f).margin(1e-6));
  int64_t counter;
  std::memcpy(&counter, g1.bytes.data() + g1.manifest.tensors(1).offset(), 8);
  CHECK(counter == 99);
  // Round 2: the average moved by -0.1 from g1 -> m = 0.5*0.1 - 0.1 = -0.05, next = g1 - 0.1.
  {
    ModelFileReader prev(dir.path + "/g1.fxm");
    ModelFileWriter out(dir.path + "/g2.fxm", g0.manifest);
    opt.apply(prev, shifted(g1, -0.1f), out);
    out.commit();
  }
  const ModelBlob g2 = read_model_file(dir.path + "/g2.fxm");
  for (std::size_t k = 0; k < 10; ++k) CHECK(element(g2, k) == Approx(element(g1, k) - 0.1f).margin(1e-6));
  // A plain step (beta 0, rate 1) reproduces the average.
  ServerMomentum plain(0.0, 1.0);
  ModelFileReader prev(dir.path + "/g0.fxm");
  ModelFileWriter out(dir.path + "/p.fxm", g0.manifest);
  plain.apply(prev, shifted(g0, 0.3f), out);
  out.commit();
  const ModelBlob p = read_model_file(dir.path + "/p.fxm");
  for (std::size_t k = 0; k < 10; ++k) CHECK(element(p, k) == Approx(element(g0, k) + 0.3f).margin(1e-6));
}

TEST_CASE("server momentum resumed from the last two checkpoints continues as if never stopped",
          "[fedavgm]") {
  testing::TempDir dir;
  const ModelBlob g0 = testing::make_model({10}, 1);
  write_model_file(dir.path + "/g0.fxm", g0);
  auto step = [&](ServerMomentum& opt, const std::string& from, const std::string& to, float d) {
    ModelFileReader prev(dir.path + "/" + from);
    ModelFileWriter out(dir.path + "/" + to, g0.manifest);
    opt.apply(prev, shifted(read_model_file(dir.path + "/" + from), d), out);
    out.commit();
  };
  ServerMomentum running(0.9, 0.5);
  step(running, "g0.fxm", "g1.fxm", 0.1f);
  step(running, "g1.fxm", "g2.fxm", 0.05f);
  // A coordinator restarted after round 2 rebuilds its buffer from rounds 1 and 2.
  ServerMomentum resumed(0.9, 0.5);
  resumed.resume(ModelFileReader(dir.path + "/g1.fxm"), ModelFileReader(dir.path + "/g2.fxm"));
  step(running, "g2.fxm", "g3-running.fxm", -0.02f);
  step(resumed, "g2.fxm", "g3-resumed.fxm", -0.02f);
  const ModelBlob a = read_model_file(dir.path + "/g3-running.fxm");
  const ModelBlob b = read_model_file(dir.path + "/g3-resumed.fxm");
  const ModelBlob g2 = read_model_file(dir.path + "/g2.fxm");
  for (std::size_t k = 0; k < 10; ++k) {
    CHECK(element(b, k) == Approx(element(a, k)).margin(1e-6));
    CHECK(element(b, k) != Approx(element(g2, k) - 0.01f).margin(1e-6));  // not a momentum-free step
  }
}

TEST_CASE("a job's strategy is FedAvg, wrapped in server momentum when the job asks",
          "[fedavgm]") {
  testing::TempDir dir;
  JobConfig job;
  job.name = "strategy";
  CHECK(make_job_strategy(job, dir.path)->name() == "fedavg");
  job.server_momentum = 0.5;
  job.server_learning_rate = 2.0;
  std::unique_ptr<Strategy> fedavgm = make_job_strategy(job, dir.path);
  CHECK(fedavgm->name() == "fedavg+server-momentum");
  CHECK(fedavgm->keeps_server_state());

  // Alone, with no network: one site's update of +0.1 everywhere; the strategy's next global
  // model is the momentum step, prev + 2.0 * 0.1 (the same as ServerMomentum's first step).
  const ModelBlob g0 = testing::make_model({10}, 1);
  write_model_file(dir.path + "/g0.fxm", g0);
  const ModelBlob update = shifted(g0, 0.1f);
  RoundPlan plan;
  plan.round = 1;
  plan.sites = {"site-a"};
  plan.layout = g0.manifest;
  std::shared_ptr<Aggregator> aggregator = fedavgm->make_aggregator(plan);
  {
    auto sink = aggregator->begin_update("site-a", 10);
    sink->fold(0, update.bytes.data(), update.bytes.size());
    sink->commit();
  }
  aggregator->close();
  ModelFileReader prev(dir.path + "/g0.fxm");
  ModelFileWriter next(dir.path + "/g1.fxm", g0.manifest);
  fedavgm->update_global(*aggregator, prev, next, dir.path + "/g1.fxm.mean");
  next.commit();
  const ModelBlob g1 = read_model_file(dir.path + "/g1.fxm");
  for (std::size_t k = 0; k < 10; ++k) CHECK(element(g1, k) == Approx(element(g0, k) + 0.2f).margin(1e-6));
  CHECK_FALSE(std::filesystem::exists(dir.path + "/g1.fxm.mean"));  // the side file is gone
}

TEST_CASE("a secure job's strategy masks the round: its aggregator is a SecureRound for the plan",
          "[fedavgm]") {
  testing::TempDir dir;
  JobConfig job;
  job.name = "masked";
  job.server_momentum = 0.5;
  job.secure_aggregation.enabled = true;
  // Without the consortium CA nothing could check the sites' keys: refused, naming the job.
  CHECK_THROWS_WITH(make_job_strategy(job, dir.path),
                    Catch::Contains("job masked uses secure aggregation") &&
                        Catch::Contains("no consortium CA certificate"));

  std::unique_ptr<Strategy> strategy =
      make_job_strategy(job, dir.path, read_file(testing::kit("coordinator").ca_certificate));
  CHECK(strategy->name() == "fedavg+server-momentum+secure-aggregation");
  CHECK(strategy->keeps_server_state());  // the momentum it wraps

  const ModelBlob g0 = testing::make_model({10, 6}, 1);
  write_model_file(dir.path + "/g0.fxm", g0);
  RoundPlan plan;
  plan.round = 3;
  plan.sites = {"site-a", "site-b", "site-c"};
  plan.weight_caps = {{"site-a", 10}, {"site-b", 20}, {"site-c", 30}};
  plan.layout = g0.manifest;
  plan.global = std::make_shared<ModelFileReader>(dir.path + "/g0.fxm");
  plan.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::shared_ptr<Aggregator> aggregator = strategy->make_aggregator(plan);
  auto secure = std::dynamic_pointer_cast<SecureRound>(aggregator);
  REQUIRE(secure != nullptr);
  const wire::SecAggRoundParams params = secure->wire_params();
  // The scale follows from the sum of the caps (10 + 20 + 30), not from what sites will claim.
  CHECK(params.scale() == FixedPointCode::for_total_weight(job.secure_aggregation.clip, 60).scale);
  CHECK(params.vector_words() == 16 + 1 + 1);  // 16 floats, the int64 counter and the weight
  CHECK(params.sites_size() == 3);
  // An unplanned site has no masking plan and cannot upload.
  CHECK_THROWS_AS(aggregator->begin_update("site-z", 1), Error);
  secure->abort("test over");
}

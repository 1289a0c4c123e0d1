// FedOpt (FedAdam, FedYogi, FedAdagrad): each step against the same step worked out another
// way, the moments saved and restored across a coordinator restart, and the job options.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <thread>

#include "base/atomic_file.h"
#include "base/error.h"
#include "config/job_config.h"
#include "coordinator/aggregation/adaptive_server_optimizer.h"
#include "coordinator/aggregation/strategy.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/coordinator_service.h"
#include "site-agent/site_agent.h"
#include "tests/coordinator_fixture.h"
#include "tests/shift_trainer.h"
#include "tests/test_support.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

ModelBlob model(const std::vector<float>& w, int64_t counter) {
  return testing::model_of(w, counter);
}

std::vector<float> weights(const ModelBlob& m) {
  std::vector<float> w(3);
  std::memcpy(w.data(), m.bytes.data(), 12);
  return w;
}

// One optimizer step from `previous` towards `aggregate`, through files as the strategy runs it.
ModelBlob step(AdaptiveServerOptimizer& opt, const ModelBlob& previous, const ModelBlob& aggregate,
               const std::string& dir) {
  write_model_file(dir + "/prev.fxm", previous);
  ModelFileReader prev(dir + "/prev.fxm");
  ModelFileWriter next(dir + "/next.fxm", previous.manifest);
  opt.apply(prev, aggregate, next);
  next.commit();
  return read_model_file(dir + "/next.fxm");
}

ServerOptimizerConfig optimizer(const std::string& kind, double beta1, double beta2, double tau) {
  ServerOptimizerConfig c;
  c.kind = kind;
  c.learning_rate = 0.01;
  c.beta1 = beta1;
  c.beta2 = beta2;
  c.tau = tau;
  return c;
}

}  // namespace

TEST_CASE("FedOpt with beta2 = 0 and a tiny tau steps eta (1 - beta1) sign(D): signSGD",
          "[fedopt]") {
  testing::TempDir dir;
  const ModelBlob prev = model({1.0f, -2.0f, 0.5f}, 7);
  const ModelBlob agg = model({1.3f, -2.5f, 0.5001f}, 9);  // D = +0.3, -0.5, +0.0001
  // Adam with beta2 = 0 and Yogi with beta2 = 0 (v starts at tau^2 < D^2) have v = D^2 after one
  // step; Adagrad has v = tau^2 + D^2. With tau tiny, each step is eta (1 - beta1) D / |D|.
  for (const std::string kind : {"adam", "yogi", "adagrad"}) {
    INFO(kind);
    AdaptiveServerOptimizer opt(optimizer(kind, 0.5, 0.0, 1e-9));
    const ModelBlob next = step(opt, prev, agg, dir.path);
    const std::vector<float> w = weights(next);
    CHECK(w[0] == Approx(1.0 + 0.01 * 0.5).epsilon(1e-5));
    CHECK(w[1] == Approx(-2.0 - 0.01 * 0.5).epsilon(1e-5));
    CHECK(w[2] == Approx(0.5 + 0.01 * 0.5).epsilon(1e-4));  // the same step however small D is
    int64_t counter = 0;
    std::memcpy(&counter, next.bytes.data() + 12, 8);
    CHECK(counter == 9);  // integers take the aggregate as it is
  }
}

TEST_CASE("FedAdam, FedYogi and FedAdagrad over two rounds match the values worked by hand",
          "[fedopt]") {
  testing::TempDir dir;
  // One element: D = +0.1 in round 1, then -0.05 in round 2; beta1 0.9, beta2 0.99, tau 1e-3,
  // eta 0.01. m1 = 0.01, m2 = 0.9 x 0.01 + 0.1 x (-0.05) = 0.004 for all three.
  const double tau2 = 1e-6;
  const double x1_of[3] = {// adam:    v1 = 0.99 tau^2 + 0.01 x 0.01
                           0.01 * 0.01 / (std::sqrt(0.99 * tau2 + 1e-4) + 1e-3),
                           // yogi:    v0 = tau^2 < D^2 = 0.01, so v1 = tau^2 + 0.01 x 0.01
                           0.01 * 0.01 / (std::sqrt(tau2 + 1e-4) + 1e-3),
                           // adagrad: v1 = tau^2 + 0.01
                           0.01 * 0.01 / (std::sqrt(tau2 + 0.01) + 1e-3)};
  const double v1_of[3] = {0.99 * tau2 + 1e-4, tau2 + 1e-4, tau2 + 0.01};
  const double v2_of[3] = {
      0.99 * v1_of[0] + 0.01 * 0.0025,
      v1_of[1] - 0.01 * 0.0025 * (v1_of[1] > 0.0025 ? 1 : -1),  // v1 < D^2: v grows
      v1_of[2] + 0.0025};
  const char* kinds[3] = {"adam", "yogi", "adagrad"};
  for (int k = 0; k < 3; ++k) {
    INFO(kinds[k]);
    AdaptiveServerOptimizer opt(optimizer(kinds[k], 0.9, 0.99, 1e-3));
    const ModelBlob g1 = step(opt, model({0, 0, 0}, 0), model({0.1f, 0, 0}, 0), dir.path);
    const double x1 = weights(g1)[0];
    CHECK(x1 == Approx(x1_of[k]).epsilon(1e-5));
    const ModelBlob g2 = step(opt, g1, model({float(x1 - 0.05), 0, 0}, 0), dir.path);
    CHECK(weights(g2)[0] == Approx(x1 + 0.01 * 0.004 / (std::sqrt(v2_of[k]) + 1e-3)).epsilon(1e-4));
    CHECK(weights(g2)[1] == 0.0f);  // D = 0 and m = 0: elements that never move stay put
  }
}

TEST_CASE("FedOpt's saved moments restore exactly, and a bad state file is named", "[fedopt]") {
  testing::TempDir dir;
  const ModelBlob g0 = model({0, 1, 2}, 0);
  AdaptiveServerOptimizer a(optimizer("adam", 0.9, 0.99, 1e-3));
  const ModelBlob g1 = step(a, g0, model({0.2f, 0.8f, 2.1f}, 1), dir.path);
  a.save(dir.path + "/state");
  AdaptiveServerOptimizer b(optimizer("adam", 0.9, 0.99, 1e-3));
  REQUIRE(b.restore(dir.path + "/state", g0.manifest).empty());
  const ModelBlob round2 = model({0.1f, 0.9f, 2.3f}, 2);
  CHECK(step(a, g1, round2, dir.path).bytes == step(b, g1, round2, dir.path).bytes);
  AdaptiveServerOptimizer fresh(optimizer("adam", 0.9, 0.99, 1e-3));
  CHECK(step(fresh, g1, round2, dir.path).bytes != step(a, g1, round2, dir.path).bytes);

  AdaptiveServerOptimizer yogi(optimizer("yogi", 0.9, 0.99, 1e-3));
  CHECK_THAT(yogi.restore(dir.path + "/state", g0.manifest), Catch::Contains("holds adam state"));
  CHECK_THAT(b.restore(dir.path + "/missing", g0.manifest), Catch::Contains("is missing"));
  CHECK_THAT(b.restore(dir.path + "/state", model({0, 0, 0, 0}, 0).manifest),
             Catch::Contains("expected") && Catch::Contains("for 5 elements"));
  std::string bytes = read_file(dir.path + "/state");
  bytes[40] ^= 1;
  write_file_atomically(dir.path + "/state", bytes);
  CHECK_THAT(b.restore(dir.path + "/state", g0.manifest), Catch::Contains("fails its checksum"));
}

TEST_CASE("server_optimizer is a job option and replaces server momentum", "[fedopt][config]") {
  testing::TempDir dir;
  const std::string head =
      "job:\n  name: fedopt\n  model: cnn-small\n  classes: 2\n  image_size: 32\n  rounds: 2\n"
      "  sites_per_round: 2\n";
  auto load = [&](const std::string& tail) {
    write_file_atomically(dir.path + "/job.yaml", head + tail);
    return load_job_config(dir.path + "/job.yaml");
  };
  const JobConfig yogi = load("  server_optimizer:\n    kind: yogi\n    learning_rate: 0.03\n");
  CHECK(yogi.server_optimizer.kind == "yogi");
  CHECK(yogi.server_optimizer.learning_rate == 0.03);
  CHECK(yogi.server_optimizer.tau == 1e-3);
  std::unique_ptr<Strategy> s = make_job_strategy(yogi, dir.path);
  CHECK(s->name() == "fedavg+fedyogi");
  CHECK(s->keeps_server_state());
  CHECK_THROWS_WITH(load("  server_momentum: 0.9\n  server_optimizer:\n    kind: adam\n"),
                    Catch::Contains("job.yaml:10: 'job.server_optimizer.kind'") &&
                        Catch::Contains("replaces server_momentum"));
  CHECK_THROWS_WITH(load("  server_optimizer:\n    kind: sgd\n"),
                    Catch::Contains("'job.server_optimizer.kind'"));
  CHECK_THROWS_WITH(load("  server_optimizer:\n    kind: adam\n    beta1: 1.5\n"),
                    Catch::Contains("'job.server_optimizer.beta1'"));
}

namespace {

// A FedAdam job of 3 rounds with one ShiftTrainer site over loopback mTLS, its state in `dir`.
// With interrupt_after > 0 the coordinator is interrupted after that round and a new one resumes
// from the state database (optionally without the strategy's state file). Returns the pooled model.
ModelBlob run_fedadam(const std::string& dir, int interrupt_after, bool drop_state_file) {
  JobConfig job = testing::small_job("adam-job", 3, 1, 1);
  job.server_optimizer = optimizer("adam", 0.9, 0.99, 1e-3);
  auto state = std::make_shared<StateDatabase>(dir);
  CoordinatorOptions options;
  options.state_dir = dir;
  options.allowed_sites = {"site-a"};
  options.state = state;
  const ModelBlob initial = testing::make_model({50}, 3);
  testing::ShiftTrainer trainer(0.1f, 1, 20);
  for (int attempt = 0;; ++attempt) {
    CheckpointStore store(dir, job.name);
    JobRunner runner(job, options, initial, make_job_strategy(job, store.journal_dir()));
    if (attempt == 0 && interrupt_after > 0) {
      runner.on_round_finished([&runner, interrupt_after](const nlohmann::json& record) {
        if (record["round"] == interrupt_after) runner.interrupt("test restart");
      });
    }
    CoordinatorServer server(runner, "127.0.0.1:0",
                             make_server_credentials(testing::kit("coordinator")));
    SiteAgent agent(
        dial("127.0.0.1:" + std::to_string(server.port()), testing::kit("site-a")),
        SiteAgentOptions{"site-a", 30, read_site_credentials("site-a", testing::kit("site-a"))},
        trainer);
    std::thread site([&agent] {
      try {
        agent.run();
      } catch (const std::exception&) {
      }
    });
    const bool completed = runner.run();
    agent.stop();
    site.join();
    server.shutdown();
    if (completed) return read_model_file(store.pooled_path());
    REQUIRE(runner.interrupted());
    REQUIRE(attempt == 0);
    REQUIRE(std::filesystem::exists(store.strategy_state_path(interrupt_after)));
    if (drop_state_file) std::filesystem::remove(store.strategy_state_path(interrupt_after));
  }
}

}  // namespace

TEST_CASE("a FedAdam job resumed after a coordinator restart ends as if never stopped",
          "[fedopt]") {
  testing::TempDir straight, restarted, forgetful;
  const ModelBlob expected = run_fedadam(straight.path, 0, false);
  // Only the newest two state files are kept.
  CHECK(std::filesystem::exists(straight.path + "/adam-job/global-round-0003.strategy"));
  CHECK(std::filesystem::exists(straight.path + "/adam-job/global-round-0002.strategy"));
  CHECK_FALSE(std::filesystem::exists(straight.path + "/adam-job/global-round-0001.strategy"));
  CHECK(run_fedadam(restarted.path, 2, false).bytes == expected.bytes);
  // Without the state file the moments start afresh: a different (still valid) model.
  CHECK(run_fedadam(forgetful.path, 2, true).bytes != expected.bytes);
}

}  // namespace fedxray

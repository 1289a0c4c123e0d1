// Robust aggregation: each rule against values worked out by hand for five updates, one of them
// hostile; refusals (NaN, broken-off uploads, too few updates for Multi-Krum); and the job
// options that choose a rule.
#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "config/job_config.h"
#include "coordinator/aggregation/robust_aggregator.h"
#include "coordinator/aggregation/strategy.h"
#include "simulation/hostile_trainer.h"
#include "site-agent/site_agent.h"
#include "tests/coordinator_fixture.h"
#include "tests/shift_trainer.h"
#include "tests/test_support.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

ModelBlob update(const std::vector<float>& weights, int64_t counter) {
  return testing::model_of(weights, counter);
}

struct Site {
  std::string name;
  double weight;
  ModelBlob update;
};

// a..d are honest and close together; e sends a huge sign-flipping update.
std::vector<Site> five_sites() {
  return {{"site-a", 1, update({1, 2, 3, 4}, 10)},
          {"site-b", 1, update({2, 3, 4, 5}, 20)},
          {"site-c", 2, update({3, 4, 5, 6}, 30)},
          {"site-d", 2, update({4, 5, 6, 17}, 40)},
          {"site-e", 5, update({-1000, 1000, -1000, 1000}, 50)}};
}

struct Pooled {
  std::vector<float> weights;
  int64_t counter = 0;
};

Pooled aggregate(RobustAggregator& agg, const std::vector<Site>& sites) {
  for (const auto& s : sites) {
    auto sink = agg.begin_update(s.name, s.weight);
    sink->fold(0, s.update.bytes.data(), s.update.bytes.size());
    sink->commit();
  }
  agg.close();
  testing::TempDir dir;
  ModelFileWriter out(dir.path + "/pooled.fxm", sites[0].update.manifest);
  agg.write_result(out);
  out.commit();
  const ModelBlob pooled = read_model_file(dir.path + "/pooled.fxm");
  Pooled p;
  p.weights.resize(4);
  std::memcpy(p.weights.data(), pooled.bytes.data(), 16);
  std::memcpy(&p.counter, pooled.bytes.data() + 16, 8);
  return p;
}

RobustAggregationConfig rule(const std::string& name) {
  RobustAggregationConfig r;
  r.rule = name;
  return r;
}

// Five sites over loopback mTLS for `rounds` rounds: site-a..d ShiftTrainers (+0.5 x pattern
// each round), site-e the same trainer turned hostile (global - 10 x its delta). Returns the
// pooled model's float32 elements minus the initial model's.
std::vector<float> pooled_shift(const RobustAggregationConfig& robust, int rounds,
                                nlohmann::json* last_record = nullptr) {
  JobConfig job = testing::small_job("robust-job", rounds, 5, 5);
  job.robust_aggregation = robust;
  const std::vector<std::string> names = {"site-a", "site-b", "site-c", "site-d", "site-e"};
  testing::CoordinatorFixture c(job, names, {40});
  std::vector<std::unique_ptr<testing::ShiftTrainer>> honest;
  SimulatedAttack attack;
  attack.site = 5;
  attack.scale = 10;
  std::vector<std::unique_ptr<SiteAgent>> agents;
  while (honest.size() < names.size()) {
    honest.push_back(std::make_unique<testing::ShiftTrainer>(0.5f, 1, 50));
  }
  HostileTrainer hostile(*honest.back(), attack);
  for (std::size_t i = 0; i < names.size(); ++i) {
    Trainer& trainer = i + 1 == names.size() ? static_cast<Trainer&>(hostile) : *honest[i];
    agents.push_back(std::make_unique<SiteAgent>(
        dial(c.target(), testing::kit(names[i])),
        SiteAgentOptions{names[i], 30, read_site_credentials(names[i], testing::kit(names[i]))},
        trainer));
  }
  c.start_rounds();
  std::vector<std::thread> threads;
  for (auto& a : agents) threads.emplace_back([&a] { a->run(); });
  for (auto& t : threads) t.join();
  c.rounds.join();
  REQUIRE(c.succeeded);
  if (last_record) {
    std::ifstream metrics(c.runner->store().metrics_path());
    for (std::string line; std::getline(metrics, line);) *last_record = nlohmann::json::parse(line);
  }
  const ModelBlob pooled = read_model_file(c.runner->store().pooled_path());
  std::vector<float> shift(40), before(40);
  std::memcpy(shift.data(), pooled.bytes.data(), 160);
  std::memcpy(before.data(), c.initial.bytes.data(), 160);
  for (std::size_t k = 0; k < 40; ++k) shift[k] -= before[k];
  return shift;
}

}  // namespace

TEST_CASE("over loopback, one hostile site of five steers FedAvg but not median or Multi-Krum",
          "[robust]") {
  // Per round an honest delta is d_k = 0.5 x ((k % 7) - 3); the hostile one is -10 d_k.
  auto expect = [](const std::vector<float>& shift, double per_round, int rounds) {
    for (std::size_t k = 0; k < shift.size(); ++k) {
      INFO("element " << k);
      CHECK(shift[k] == Approx(rounds * per_round * 0.5 * (int(k % 7) - 3)).margin(1e-4));
    }
  };
  expect(pooled_shift(RobustAggregationConfig{}, 2), (4.0 - 10.0) / 5, 2);  // FedAvg: -1.2 d
  expect(pooled_shift(rule("median"), 2), 1.0, 2);
  RobustAggregationConfig krum = rule("multi_krum");
  nlohmann::json record;
  expect(pooled_shift(krum, 2, &record), 1.0, 2);
  // The round record names the updates Multi-Krum averaged: the hostile one is not among them.
  CHECK(record["multi_krum_averaged"] ==
        nlohmann::json::array({"site-a", "site-b", "site-c", "site-d"}));
}

TEST_CASE("coordinate-wise median and trimmed mean ignore one hostile update", "[robust]") {
  testing::TempDir dir;
  const auto layout = five_sites()[0].update.manifest;
  {
    RobustAggregator median(layout, rule("median"), UndoJournalPool::create(dir.path));
    const Pooled p = aggregate(median, five_sites());
    // Sorted columns: (-1000 1 2 3 4), (2 3 4 5 1000), (-1000 3 4 5 6), (4 5 6 17 1000).
    CHECK(p.weights == std::vector<float>{2, 4, 4, 6});
    CHECK(p.counter == 30);
    CHECK(median.committed_updates() == 5);
    CHECK(median.committed_weight() == 11);
  }
  {
    RobustAggregationConfig trimmed = rule("trimmed_mean");
    trimmed.trim_fraction = 0.2;  // floor(0.2 x 5) = 1 value cut from each end
    RobustAggregator agg(layout, trimmed, UndoJournalPool::create(dir.path));
    const Pooled p = aggregate(agg, five_sites());
    CHECK(p.weights[0] == Approx((1 + 2 + 3) / 3.0));
    CHECK(p.weights[1] == Approx((3 + 4 + 5) / 3.0));
    CHECK(p.weights[2] == Approx((3 + 4 + 5) / 3.0));
    CHECK(p.weights[3] == Approx((5 + 6 + 17) / 3.0));  // not the median: the mean of the middle
    CHECK(p.counter == 30);
  }
}

TEST_CASE("Multi-Krum averages the n - f updates nearest their neighbours", "[robust]") {
  testing::TempDir dir;
  const auto layout = five_sites()[0].update.manifest;
  RobustAggregationConfig krum = rule("multi_krum");
  krum.byzantine_sites = 1;
  RobustAggregator agg(layout, krum, UndoJournalPool::create(dir.path));
  const Pooled p = aggregate(agg, five_sites());
  CHECK(agg.krum_selection() == std::vector<std::string>{"site-a", "site-b", "site-c", "site-d"});
  // One vote each, whatever the sample weights (1, 1, 2, 2) claim.
  CHECK(p.weights[0] == Approx((1 + 2 + 3 + 4) / 4.0));
  CHECK(p.weights[3] == Approx((4 + 5 + 6 + 17) / 4.0));
  CHECK(p.counter == 25);

  // m = 1 is Krum itself. Squared distances: a-b 4, a-c 16, b-c 4, a-d 196, b-d 156, c-d 124;
  // scores over the 2 nearest: a 20, b 8, c 20, d 280 (e far away): site-b wins.
  krum.krum_selected = 1;
  RobustAggregator single(layout, krum, UndoJournalPool::create(dir.path));
  const Pooled q = aggregate(single, five_sites());
  CHECK(single.krum_selection() == std::vector<std::string>{"site-b"});
  CHECK(q.weights == std::vector<float>{2, 3, 4, 5});

  // With f = 1 Krum needs 2f + 3 = 5 updates; with four the round fails, saying why.
  krum.krum_selected = 0;
  RobustAggregator few(layout, krum, UndoJournalPool::create(dir.path));
  std::vector<Site> four = five_sites();
  four.pop_back();
  CHECK_THROWS_WITH(aggregate(few, four), Catch::Contains("needs at least 5 updates") &&
                                              Catch::Contains("this round has 4"));
}

TEST_CASE("a robust round refuses NaN and forgets an upload that broke off", "[robust]") {
  testing::TempDir dir;
  std::vector<Site> sites = five_sites();
  const auto layout = sites[0].update.manifest;
  RobustAggregator agg(layout, rule("median"), UndoJournalPool::create(dir.path));
  {
    const ModelBlob poisoned = update({1, std::nanf(""), 3, 4}, 10);
    auto sink = agg.begin_update("site-x", 1);  // refused as it streams in, before any commit
    CHECK_THROWS_WITH(sink->fold(0, poisoned.bytes.data(), poisoned.bytes.size()),
                      Catch::Contains("tensor 'w' holds NaN"));
  }
  {
    // An infinity split across two chunks is caught when its last byte arrives.
    const ModelBlob poisoned = update({1, 2, INFINITY, 4}, 10);
    auto sink = agg.begin_update("site-w", 1);
    sink->fold(0, poisoned.bytes.data(), 10);
    CHECK_THROWS_WITH(sink->fold(10, poisoned.bytes.data() + 10, 6),
                      Catch::Contains("tensor 'w' holds NaN or infinite"));
  }
  {
    auto sink = agg.begin_update("site-y", 1);  // half an update, then the stream breaks
    sink->fold(0, sites[4].update.bytes.data(), 8);
  }
  CHECK(agg.committed_updates() == 0);
  CHECK_THROWS_AS(agg.begin_update("site-z", 0), ShareableError);  // weight must be positive
  sites.pop_back();  // only the four honest sites commit: the median of four is the mid-mean
  const Pooled p = aggregate(agg, sites);
  CHECK(p.weights == std::vector<float>{2.5f, 3.5f, 4.5f, 5.5f});
  CHECK(agg.committed_updates() == 4);
}

TEST_CASE("robust_aggregation is a job option, refused with secure aggregation",
          "[robust][config]") {
  testing::TempDir dir;
  const std::string head =
      "job:\n  name: robust\n  model: cnn-small\n  classes: 2\n  image_size: 32\n  rounds: 2\n"
      "  sites_per_round: 5\n  min_sites: 5\n";
  auto load = [&](const std::string& tail) {
    write_file_atomically(dir.path + "/job.yaml", head + tail);
    return load_job_config(dir.path + "/job.yaml");
  };
  const JobConfig krum =
      load("  robust_aggregation:\n    rule: multi_krum\n    byzantine_sites: 1\n");
  CHECK(krum.robust_aggregation.rule == "multi_krum");
  CHECK(make_job_strategy(krum, dir.path)->name() == "fedavg+multi_krum");
  JobConfig momentum = load("  server_momentum: 0.5\n  robust_aggregation:\n    rule: median\n");
  CHECK(make_job_strategy(momentum, dir.path)->name() == "fedavg+median+server-momentum");

  CHECK_THROWS_WITH(load("  secure_aggregation:\n    enabled: true\n"
                         "  robust_aggregation:\n    rule: median\n"),
                    Catch::Contains("job.yaml:12: 'job.robust_aggregation.rule'") &&
                        Catch::Contains("secure aggregation hides"));
  CHECK_THROWS_WITH(load("  robust_aggregation:\n    rule: multi_krum\n    byzantine_sites: 2\n"),
                    Catch::Contains("'job.robust_aggregation.byzantine_sites'") &&
                        Catch::Contains("needs min_sites >= 2f + 3 = 7 (got 5)"));
  CHECK_THROWS_WITH(load("  robust_aggregation:\n    rule: mean\n"),
                    Catch::Contains("'job.robust_aggregation.rule'"));
  CHECK_THROWS_WITH(load("  robust_aggregation:\n    rule: trimmed_mean\n    trim_fraction: 0.5\n"),
                    Catch::Contains("'job.robust_aggregation.trim_fraction'"));
  // The default 0.1 of 5 sites trims nothing: a plain mean in disguise, refused.
  CHECK_THROWS_WITH(load("  robust_aggregation:\n    rule: trimmed_mean\n"),
                    Catch::Contains("'job.robust_aggregation.trim_fraction'") &&
                        Catch::Contains("no protection") &&
                        Catch::Contains("at least 1 / min_sites"));
  CHECK(load("  robust_aggregation:\n    rule: trimmed_mean\n    trim_fraction: 0.2\n")
            .robust_aggregation.trim_fraction == 0.2);
  JobConfig both = momentum;  // built by hand, past the config reader: still refused
  both.secure_aggregation.enabled = true;
  CHECK_THROWS_WITH(make_job_strategy(both, dir.path, "ca"),
                    Catch::Contains("robust aggregation (median)") &&
                        Catch::Contains("secure aggregation hides"));
}

}  // namespace fedxray

// Secure aggregation end to end: a real coordinator and five real site agents over loopback
// mutual TLS, each site's "training" adding a known delta, one site dropping after it has shared
// its secrets. The pooled model must equal the sample-weighted FedAvg of the survivors' models
// within the fixed-point bound, while the coordinator only ever received masked vectors.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "wire/model_file.h"
#include "privacy/secagg/fixed_point.h"
#include "site-agent/site_agent.h"
#include "tests/coordinator_fixture.h"
#include "tests/shift_trainer.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

const std::vector<std::string> kSites = {"site-a", "site-b", "site-c", "site-d", "site-e"};

// Five site agents with ShiftTrainers, against the fixture's coordinator.
struct FiveSites {
  FiveSites(CoordinatorFixture& c, const std::vector<float>& scales,
            const std::vector<int64_t>& steps, const std::vector<uint64_t>& samples) {
    for (std::size_t i = 0; i < kSites.size(); ++i) {
      trainers.push_back(std::make_unique<ShiftTrainer>(scales[i], steps[i], samples[i]));
      SiteAgentOptions options{kSites[i], 30, read_site_credentials(kSites[i], kit(kSites[i]))};
      agents.push_back(std::make_unique<SiteAgent>(dial(c.target(), kit(kSites[i])), options,
                                                   *trainers.back()));
    }
  }
  // The coordinator's rounds and every agent, until the job ends.
  void run(CoordinatorFixture& c) {
    c.start_rounds();
    std::vector<std::thread> threads;
    for (auto& a : agents) threads.emplace_back([&a] { a->run(); });
    for (auto& t : threads) t.join();
    c.rounds.join();
  }
  std::vector<std::unique_ptr<ShiftTrainer>> trainers;
  std::vector<std::unique_ptr<SiteAgent>> agents;
};

}  // namespace

TEST_CASE("secure aggregation over loopback mTLS: 5 sites, one dropping mid-round", "[secure-federation]") {
  JobConfig job = small_job("secure-job", 2, 5, 3);
  job.secure_aggregation.enabled = true;
  job.secure_aggregation.stage_timeout_s = 10;
  CoordinatorFixture c(job, {}, {64, 1000});
  const std::vector<float> scales = {0.001f, 0.002f, -0.003f, 0.004f, 0.5f};
  const std::vector<int64_t> steps = {1, 2, 3, 4, 5};
  const std::vector<uint64_t> samples = {10, 20, 30, 40, 50};
  FiveSites sites(c, scales, steps, samples);
  // site-e shares its secrets each round, then vanishes before sending its masked update.
  sites.agents[4]->on_secure_step([](const std::string& step) {
    if (step == "upload") throw Error("test: site-e drops after sharing its secrets");
  });
  sites.run(c);
  REQUIRE(c.succeeded);

  // Each round's record: 4 masked, site-e dropped with its masks recovered.
  std::ifstream metrics(c.runner->store().metrics_path());
  std::string line;
  int rounds = 0;
  while (std::getline(metrics, line)) {
    const auto record = nlohmann::json::parse(line);
    ++rounds;
    INFO(line);
    REQUIRE(record["status"] == "completed");
    REQUIRE(record["secure_aggregation"]["recovered"] == true);
    REQUIRE(record["secure_aggregation"]["masked"].size() == 4);
    REQUIRE(record["secure_aggregation"]["dropped"] == nlohmann::json::array({"site-e"}));
    REQUIRE(record["total_samples"] == 100);
  }
  REQUIRE(rounds == 2);

  // Expected: initial + 2 rounds of the weighted mean delta of sites a-d.
  const ModelBlob pooled = read_model_file(c.runner->store().pooled_path());
  double mean_scale = 0, mean_step = 0;
  for (int i = 0; i < 4; ++i) {
    mean_scale += double(samples[std::size_t(i)]) * scales[std::size_t(i)] / 100.0;
    mean_step += double(samples[std::size_t(i)]) * double(steps[std::size_t(i)]) / 100.0;
  }
  const FixedPointCode code = FixedPointCode::for_total_weight(job.secure_aggregation.clip, 5 * 100.0);
  const double bound = 2 * code.quantisation_bound(4, 100.0) + 1e-6;  // + float32 rounding
  double worst = 0;
  for (const auto& t : pooled.manifest.tensors()) {
    const char* p = pooled.bytes.data() + t.offset();
    const char* q = c.initial.bytes.data() + t.offset();
    if (t.dtype() == wire::FLOAT32) {
      for (uint64_t k = 0; k < t.nbytes() / 4; ++k) {
        float v, v0;
        std::memcpy(&v, p + 4 * k, 4);
        std::memcpy(&v0, q + 4 * k, 4);
        const double expected = double(v0) + 2 * mean_scale * double(int(k % 7) - 3);
        worst = std::max(worst, std::abs(double(v) - expected));
      }
    } else {
      int64_t v, v0;
      std::memcpy(&v, p, 8);
      std::memcpy(&v0, q, 8);
      // Each round's mean step (2.0 here) is rounded to an integer when stored.
      REQUIRE(v == v0 + 2 * std::llround(mean_step));
    }
  }
  INFO("worst error " << worst << ", bound " << bound);
  REQUIRE(worst <= bound);
}

TEST_CASE("secure aggregation: more drops than the threshold allows fail the round cleanly", "[secure-federation]") {
  JobConfig job = small_job("secure-fail", 1, 5, 2);
  job.secure_aggregation.enabled = true;
  job.secure_aggregation.stage_timeout_s = 10;
  CoordinatorFixture c(job, {}, {64, 100});
  FiveSites sites(c, std::vector<float>(5, 0.01f), std::vector<int64_t>(5, 1),
                  std::vector<uint64_t>(5, 10));
  // Threshold 3 of 5: three sites vanish after sharing, two deliver input: below the threshold.
  for (int i : {1, 2, 3}) {
    sites.agents[std::size_t(i)]->on_secure_step([](const std::string& step) {
      if (step == "upload") throw Error("test: dropping");
    });
  }
  sites.run(c);
  REQUIRE_FALSE(c.succeeded);
  std::ifstream metrics(c.runner->store().metrics_path());
  std::string line;
  REQUIRE(std::getline(metrics, line));
  const auto record = nlohmann::json::parse(line);
  INFO(line);
  REQUIRE(record["status"] == "failed");
  REQUIRE_THAT(record["reason"].get<std::string>(),
               Catch::Contains("secure aggregation failed") &&
                   Catch::Contains("2 sites delivered masked input"));
  REQUIRE(record["secure_aggregation"]["recovered"] == false);
  REQUIRE(record["secure_aggregation"]["dropped"].size() == 3);
  // No model was published for the round; the initial model is still the last good one.
  REQUIRE_FALSE(std::ifstream(c.runner->store().model_path(1)).good());
}

TEST_CASE("a site whose policy requires secure aggregation refuses a plaintext job, with the rule", "[secure-federation]") {
  CoordinatorFixture c(small_job("plain-job", 1, 2, 1), {}, {64, 100});
  ShiftTrainer strict_trainer(0.01f, 1, 10), easy_trainer(0.01f, 1, 10);
  SitePolicy strict;
  strict.require_secure_aggregation = true;
  SiteAgent strict_site(dial(c.target(), kit("site-a")),
                        {"site-a", 30, read_site_credentials("site-a", kit("site-a")), strict},
                        strict_trainer);
  SiteAgent easy_site(dial(c.target(), kit("site-b")), {"site-b", 30}, easy_trainer);
  bool strict_trained = false;
  strict_site.on_uploaded([&](int, const TrainingResult&) { strict_trained = true; });
  c.start_rounds();
  std::thread a([&] { strict_site.run(); }), b([&] { easy_site.run(); });
  a.join();
  b.join();
  c.rounds.join();
  REQUIRE(c.succeeded);
  REQUIRE_FALSE(strict_trained);
  std::ifstream metrics(c.runner->store().metrics_path());
  std::string line;
  REQUIRE(std::getline(metrics, line));
  const auto record = nlohmann::json::parse(line);
  INFO(line);
  bool seen = false;
  for (const auto& s : record["sites"]) {
    if (s["site"] == "site-a") {
      seen = true;
      REQUIRE(s["status"] == "failed");
      REQUIRE_THAT(s["reason"].get<std::string>(),
                   Catch::Contains("site policy 'require_secure_aggregation'"));
    }
  }
  REQUIRE(seen);
}

TEST_CASE("a diverged update (NaN) is never masked and uploaded", "[secure-federation]") {
  const ModelBlob global = make_model({16}, 1);
  ModelBlob trained = global;
  const float nan = std::nanf("");
  std::memcpy(trained.bytes.data() + trained.manifest.tensors(0).offset() + 8, &nan, 4);
  std::size_t clipped = 0;
  REQUIRE_THROWS_AS(encode_weighted_delta(global, trained, 10, 8.0, 1000.0, clipped), ShareableError);
  // and a finite one encodes: 16 weights + the counter + the weight word.
  const auto words = encode_weighted_delta(global, global, 10, 8.0, 1000.0, clipped);
  CHECK(words.size() == 18);
  CHECK(words.back() == 10u);
}

// SCAFFOLD and FedBN at the coordinator, torch-free: the layouts a site's update has, the
// server's control update and FedBN's pooled statistics against values worked out by hand, a
// SCAFFOLD job under secure aggregation and across a coordinator restart over loopback mTLS,
// and the job options with their configuration errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/error.h"
#include "config/job_config.h"
#include "config/site_policy.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/strategy.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/coordinator_service.h"
#include "site-agent/filters/standard_filters.h"
#include "site-agent/site_agent.h"
#include "tests/coordinator_fixture.h"
#include "tests/shift_trainer.h"
#include "tests/test_support.h"
#include "wire/model_file.h"
#include "wire/scaffold_controls.h"
#include "wire/update_layout.h"

namespace fedxray {
namespace {

using Floats = std::vector<std::pair<std::string, std::vector<float>>>;

// Float32 tensors named and valued as given, then the int64 counter "bn.num_batches_tracked".
ModelBlob model_with(const Floats& floats, int64_t counter = 0) {
  ModelBlob blob;
  blob.manifest.set_model("test-model");
  for (const auto& [name, values] : floats) {
    append_tensor(blob.manifest, name, wire::FLOAT32, {int64_t(values.size())});
  }
  append_tensor(blob.manifest, "bn.num_batches_tracked", wire::INT64, {1});
  blob.bytes.resize(blob.manifest.total_bytes());
  for (int i = 0; i < int(floats.size()); ++i) {
    std::memcpy(blob.bytes.data() + blob.manifest.tensors(i).offset(), floats[i].second.data(),
                4 * floats[i].second.size());
  }
  std::memcpy(blob.bytes.data() + blob.manifest.total_bytes() - 8, &counter, 8);
  blob.seal();
  return blob;
}

std::vector<float> tensor(const ModelBlob& blob, const std::string& name) {
  for (const auto& t : blob.manifest.tensors()) {
    if (t.name() != name) continue;
    std::vector<float> out(t.nbytes() / 4);
    std::memcpy(out.data(), blob.bytes.data() + t.offset(), t.nbytes());
    return out;
  }
  throw Error("no tensor " + name);
}

std::vector<std::string> names(const wire::ModelManifest& m) {
  std::vector<std::string> out;
  for (const auto& t : m.tensors()) out.push_back(t.name());
  return out;
}

// A conv layer, a batch-norm layer and a head, two elements each.
ModelBlob site_model(float conv, float bn_weight, float mean, float var, float head) {
  return model_with({{"conv.weight", {conv, conv}},
                     {"bn.weight", {bn_weight, bn_weight}},
                     {"bn.bias", {0, 0}},
                     {"bn.running_mean", {mean, mean}},
                     {"bn.running_var", {var, var}},
                     {"head.weight", {head, head}}});
}

// Runs one round of `strategy` from `previous` on the given (site, weight, update) triples and
// returns the next global model. `available` sites are offered for selection.
ModelBlob one_round(Strategy& strategy, int round, const ModelBlob& previous,
                    const wire::ModelManifest& update_layout,
                    const std::vector<std::tuple<std::string, double, ModelBlob>>& updates,
                    const std::vector<std::string>& available, const std::string& dir) {
  write_model_file(dir + "/previous.fxm", previous);
  auto reader = std::make_shared<ModelFileReader>(dir + "/previous.fxm");
  std::vector<std::string> chosen = strategy.select_sites(round, available, int(updates.size()));
  RoundPlan plan{round,  chosen,
                 {},     update_layout,
                 reader, std::chrono::steady_clock::now() + std::chrono::seconds(30)};
  std::shared_ptr<Aggregator> agg = strategy.make_aggregator(plan);
  for (const auto& [site, weight, update] : updates) {
    auto sink = agg->begin_update(site, weight);
    sink->fold(0, update.bytes.data(), update.bytes.size());
    sink->commit();
  }
  agg->close();
  {
    ModelFileWriter next(dir + "/next.fxm", previous.manifest);
    strategy.update_global(*agg, *reader, next, dir + "/scratch");
    next.commit();
  }
  return read_model_file(dir + "/next.fxm");
}

}  // namespace

TEST_CASE("a FedBN update leaves the batch-norm layers out except for pooled statistics at the end",
          "[fedbn]") {
  const ModelBlob global = site_model(1, 1, 0, 1, 1);
  CHECK(normalization_tensors(global.manifest) ==
        std::set<std::string>{"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                              "bn.num_batches_tracked"});
  wire::JobSpec job;
  job.set_job_id("bn-job");
  job.set_rounds(3);
  CHECK(names(update_layout(job, 1, global.manifest)) == names(global.manifest));  // no FedBN
  job.mutable_fedbn()->set_enabled(true);
  job.mutable_fedbn()->set_pooled_statistics("site-average");
  const std::vector<std::string> kept_out = {"conv.weight", "head.weight"};
  CHECK(names(update_layout(job, 1, global.manifest)) == kept_out);
  CHECK(names(update_layout(job, 2, global.manifest)) == kept_out);
  CHECK(names(update_layout(job, 3, global.manifest)) == names(global.manifest));
  job.mutable_fedbn()->set_pooled_statistics("initial");  // nothing leaves, ever
  CHECK(names(update_layout(job, 3, global.manifest)) == kept_out);
  // restrict_to copies by name; a tensor the model lacks is named.
  const ModelBlob part = restrict_to(global, update_layout(job, 1, global.manifest));
  CHECK(tensor(part, "head.weight") == std::vector<float>{1, 1});
  CHECK(part.manifest.total_bytes() == 16);
  CHECK_THROWS_WITH(restrict_to(part, global.manifest), Catch::Contains("no tensor 'bn.weight'"));
  // A model without batch norm cannot run FedBN; the error says what to pick instead.
  const ModelBlob plain = model_with({{"conv.weight", {1}}});
  CHECK_THROWS_WITH(update_layout(job, 1, plain.manifest),
                    Catch::Contains("has no batch-norm layers") && Catch::Contains("cnn-small-bn"));
}

TEST_CASE("SCAFFOLD controls: zeros for every trained tensor, none for running statistics",
          "[scaffold]") {
  const ModelBlob global = site_model(1, 1, 0, 1, 1);
  const ModelBlob with = with_zero_scaffold_controls(global);
  CHECK(scaffold_control_count(with.manifest) == 4);
  CHECK(names(with.manifest).back() == "scaffold.control/head.weight");
  CHECK(tensor(with, "scaffold.control/conv.weight") == std::vector<float>{0, 0});
  for (const auto& n : names(with.manifest)) {
    CHECK(n != "scaffold.control/bn.running_mean");
    CHECK(n != "scaffold.control/bn.num_batches_tracked");
  }
  CHECK(tensor(with, "conv.weight") == tensor(global, "conv.weight"));  // the model is unchanged
  CHECK_THROWS_WITH(with_zero_scaffold_controls(with), Catch::Contains("already holds"));
}

TEST_CASE(
    "SCAFFOLD's server step: the weights' mean, c plus the sampled share of the mean control "
    "update",
    "[scaffold]") {
  testing::TempDir dir;
  JobConfig job = testing::small_job("scaffold-job", 3, 2, 2);
  job.scaffold = true;
  std::unique_ptr<Strategy> strategy = make_job_strategy(job, dir.path);
  CHECK(strategy->name() == "fedavg+scaffold");
  ModelBlob previous = strategy->initial_global(testing::model_of({1, 2, 3}, 0));
  REQUIRE(names(previous.manifest) ==
          std::vector<std::string>{"w", "counter", "scaffold.control/w"});
  const float c = 0.4f;
  for (int k = 0; k < 3; ++k) std::memcpy(previous.bytes.data() + 20 + 4 * k, &c, 4);
  previous.seal();
  // Two of four available sites report: a (weight 1) moves its control by +1, b (weight 3) by -1.
  auto update = [&](float w, float control) {
    ModelBlob u = previous;
    for (int k = 0; k < 3; ++k) {
      std::memcpy(u.bytes.data() + 4 * k, &w, 4);
      std::memcpy(u.bytes.data() + 20 + 4 * k, &control, 4);
    }
    u.seal();
    return u;
  };
  const ModelBlob next =
      one_round(*strategy, 1, previous, previous.manifest,
                {{"site-a", 1.0, update(1, c + 1)}, {"site-b", 3.0, update(3, c - 1)}},
                {"site-a", "site-b", "site-c", "site-d"}, dir.path);
  // Weights: (1 x 1 + 3 x 3) / 4. Control: mean update (1 - 3) / 4 = -0.5, of which the
  // reporting share 2 / 4 is applied: 0.4 - 0.25.
  for (float v : tensor(next, "w")) CHECK(v == Approx(2.5));
  for (float v : tensor(next, "scaffold.control/w")) CHECK(v == Approx(0.15));
}

TEST_CASE(
    "FedBN keeps the pooled model's batch-norm layers and pools the sites' statistics at the end",
    "[fedbn]") {
  testing::TempDir dir;
  JobConfig job = testing::small_job("bn-job", 2, 2, 2);
  job.fedbn.enabled = true;
  std::unique_ptr<Strategy> strategy = make_job_strategy(job, dir.path);
  CHECK(strategy->name() == "fedavg+fedbn");
  wire::JobSpec spec;
  spec.set_job_id("bn-job");
  spec.set_rounds(2);
  spec.mutable_fedbn()->set_enabled(true);
  spec.mutable_fedbn()->set_pooled_statistics("site-average");
  KeepBatchNormLocalFilter filter;
  const ModelBlob initial = site_model(0, 1, 0, 1, 0);
  // Two sites of equal weight whose activations differ in mean (1 and 3), each of variance 1.
  auto sent = [&](int round, const ModelBlob& trained) {
    TrainingResult r;
    r.model = trained;
    r.samples = 10;
    filter.apply(FilterRound{spec, round, 10}, initial, r);
    return r.model;
  };
  const ModelBlob a = site_model(1, 5, 1, 1, 1), b = site_model(3, 7, 3, 1, 3);
  const ModelBlob a1 = sent(1, a), b1 = sent(1, b);
  CHECK(names(a1.manifest) == std::vector<std::string>{"conv.weight", "head.weight"});
  const std::vector<std::string> both = {"site-a", "site-b"};
  const ModelBlob after1 =
      one_round(*strategy, 1, initial, update_layout(spec, 1, initial.manifest),
                {{"site-a", 10, a1}, {"site-b", 10, b1}}, both, dir.path);
  CHECK(tensor(after1, "conv.weight") == std::vector<float>{2, 2});
  CHECK(tensor(after1, "head.weight") == std::vector<float>{2, 2});
  for (const char* n : {"bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"}) {
    CHECK(tensor(after1, n) == tensor(initial, n));  // untouched: they never left the sites
  }
  // The last round sends the statistics once, running_var as the second moment var + mean^2.
  const ModelBlob a2 = sent(2, a), b2 = sent(2, b);
  CHECK(tensor(a2, "bn.running_var") == std::vector<float>{2, 2});
  CHECK(tensor(b2, "bn.running_var") == std::vector<float>{10, 10});
  const ModelBlob after2 = one_round(*strategy, 2, after1, update_layout(spec, 2, after1.manifest),
                                     {{"site-a", 10, a2}, {"site-b", 10, b2}}, both, dir.path);
  CHECK(tensor(after2, "bn.weight") == std::vector<float>{6, 6});
  CHECK(tensor(after2, "bn.running_mean") == std::vector<float>{2, 2});
  // The variance over both sites' activations: (2 + 10) / 2 - 2^2 = 2, not the mean variance 1.
  CHECK(tensor(after2, "bn.running_var") == std::vector<float>{2, 2});
}

namespace {

// A 3-round SCAFFOLD job with three ShiftTrainer sites over loopback mTLS, its state in `dir`,
// optionally under secure aggregation. With interrupt_after > 0 the coordinator is interrupted
// after that round and a new one resumes from the state database. Returns the pooled model.
ModelBlob run_scaffold(const std::string& dir, bool secure, int interrupt_after) {
  JobConfig job = testing::small_job("scaffold-job", 3, 3, 3);
  job.scaffold = true;
  job.secure_aggregation.enabled = secure;
  job.secure_aggregation.stage_timeout_s = 10;
  auto state = std::make_shared<StateDatabase>(dir);
  const std::vector<std::string> names = {"site-a", "site-b", "site-c"};
  CoordinatorOptions options;
  options.state_dir = dir;
  options.allowed_sites = names;
  options.state = state;
  const ModelBlob initial = testing::make_model({50}, 3);
  std::vector<std::unique_ptr<testing::ShiftTrainer>> trainers;
  trainers.push_back(std::make_unique<testing::ShiftTrainer>(0.01f, 1, 10));
  trainers.push_back(std::make_unique<testing::ShiftTrainer>(-0.02f, 1, 20));
  trainers.push_back(std::make_unique<testing::ShiftTrainer>(0.04f, 1, 30));
  for (int attempt = 0;; ++attempt) {
    CheckpointStore store(dir, job.name);
    JobRunner runner(job, options, initial,
                     make_job_strategy(job, store.journal_dir(),
                                       read_file(testing::kit("coordinator").ca_certificate)));
    if (attempt == 0 && interrupt_after > 0) {
      runner.on_round_finished([&runner, interrupt_after](const nlohmann::json& record) {
        if (record["round"] == interrupt_after) runner.interrupt("test restart");
      });
    }
    CoordinatorServer server(runner, "127.0.0.1:0",
                             make_server_credentials(testing::kit("coordinator")));
    std::vector<std::unique_ptr<SiteAgent>> agents;
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < names.size(); ++i) {
      agents.push_back(std::make_unique<SiteAgent>(
          dial("127.0.0.1:" + std::to_string(server.port()), testing::kit(names[i])),
          SiteAgentOptions{names[i], 30, read_site_credentials(names[i], testing::kit(names[i]))},
          *trainers[i]));
      threads.emplace_back([&agent = *agents.back()] {
        try {
          agent.run();
        } catch (const std::exception&) {
        }
      });
    }
    const bool completed = runner.run();
    for (auto& a : agents) a->stop();
    for (auto& t : threads) t.join();
    server.shutdown();
    if (completed) return read_model_file(store.pooled_path());
    REQUIRE(runner.interrupted());
    REQUIRE(attempt == 0);
  }
}

}  // namespace

TEST_CASE(
    "a SCAFFOLD job pools its controls under secure aggregation and survives a coordinator restart",
    "[scaffold]") {
  testing::TempDir straight, restarted, secure;
  const ModelBlob plain = run_scaffold(straight.path, false, 0);
  REQUIRE(scaffold_control_count(plain.manifest) == 1);
  // Every site adds scale x ((k % 7) - 3) to element k of every float tensor, its control
  // included; the weighted mean scale is (10 x 0.01 - 20 x 0.02 + 30 x 0.04) / 60 = 0.015, all
  // three sites report (the whole share of the control update applies), so after 3 rounds the
  // control is 3 x 0.015 x ((k % 7) - 3).
  const std::vector<float> control = tensor(plain, "scaffold.control/layer0.weight");
  for (std::size_t k = 0; k < control.size(); ++k) {
    REQUIRE(control[k] == Approx(0.045 * (int(k % 7) - 3)).margin(1e-5));
  }
  CHECK(run_scaffold(restarted.path, false, 2).bytes == plain.bytes);
  // Under secure aggregation only the masked sum is seen; it gives the same model within the
  // fixed-point rounding.
  const ModelBlob masked = run_scaffold(secure.path, true, 0);
  REQUIRE(names(masked.manifest) == names(plain.manifest));
  const std::vector<float> w = tensor(plain, "layer0.weight"), wm = tensor(masked, "layer0.weight");
  const std::vector<float> cm = tensor(masked, "scaffold.control/layer0.weight");
  for (std::size_t k = 0; k < w.size(); ++k) {
    REQUIRE(wm[k] == Approx(w[k]).margin(1e-4));
    REQUIRE(cm[k] == Approx(control[k]).margin(1e-4));
  }
}

namespace {

struct FedBnRun {
  ModelBlob pooled;
  std::vector<uint64_t> uploaded;  // each update's bytes, sorted
  std::vector<std::string> said;   // each round record's "batch_norm"
  ModelBlob initial;
};

// A 2-round FedBN job (site-average statistics) with two ShiftTrainer sites over loopback mTLS.
FedBnRun run_fedbn(bool secure) {
  testing::TempDir dir;
  JobConfig job = testing::small_job("bn-job", 2, 2, 2);
  job.fedbn.enabled = true;
  job.secure_aggregation.enabled = secure;
  job.secure_aggregation.stage_timeout_s = 10;
  CoordinatorOptions options;
  options.state_dir = dir.path;
  options.allowed_sites = {"site-a", "site-b"};
  FedBnRun out;
  out.initial = site_model(0, 1, 0, 1, 0);
  CheckpointStore store(dir.path, job.name);
  JobRunner runner(job, options, out.initial,
                   make_job_strategy(job, store.journal_dir(),
                                     read_file(testing::kit("coordinator").ca_certificate)));
  CoordinatorServer server(runner, "127.0.0.1:0",
                           make_server_credentials(testing::kit("coordinator")));
  testing::ShiftTrainer a(0.5f, 1, 10), b(1.5f, 1, 10);
  std::vector<std::unique_ptr<SiteAgent>> agents;
  std::mutex mu;
  for (auto [name, trainer] : {std::pair<std::string, Trainer*>{"site-a", &a}, {"site-b", &b}}) {
    agents.push_back(std::make_unique<SiteAgent>(
        dial("127.0.0.1:" + std::to_string(server.port()), testing::kit(name)),
        SiteAgentOptions{name, 30, read_site_credentials(name, testing::kit(name))}, *trainer));
    agents.back()->on_uploaded([&](int, const TrainingResult& r) {
      std::lock_guard<std::mutex> lock(mu);
      out.uploaded.push_back(r.model.bytes.size());
    });
  }
  std::vector<std::thread> threads;
  for (auto& agent : agents) {
    threads.emplace_back([&agent] {
      try {
        agent->run();
      } catch (const std::exception&) {
      }
    });
  }
  const bool completed = runner.run();
  for (auto& agent : agents) agent->stop();
  for (auto& t : threads) t.join();
  server.shutdown();
  REQUIRE(completed);
  std::sort(out.uploaded.begin(), out.uploaded.end());
  std::ifstream metrics(store.metrics_path());
  for (std::string line; std::getline(metrics, line);) {
    out.said.push_back(nlohmann::json::parse(line)["batch_norm"].get<std::string>());
  }
  out.pooled = read_model_file(store.pooled_path());
  return out;
}

}  // namespace

TEST_CASE(
    "a FedBN job over loopback mTLS keeps batch-norm layers at the sites until the last round, "
    "masked or not",
    "[fedbn]") {
  for (const bool secure : {false, true}) {
    INFO("secure aggregation " << secure);
    const FedBnRun run = run_fedbn(secure);
    // Round 1 updates: conv and head only (16 bytes); round 2 (the last): the whole model.
    const uint64_t whole = run.initial.bytes.size();
    CHECK(run.uploaded == std::vector<uint64_t>{16, 16, whole, whole});
    // Each round's record says which batch-norm layers the pooled model holds.
    REQUIRE(run.said.size() == 2);
    CHECK_THAT(run.said[0], Catch::Contains("initial"));
    CHECK_THAT(run.said[1], Catch::Contains("pooled"));
    // The pooled model's batch-norm weights: the sites' mean after their last round. Each site
    // shifts element k by scale x ((k % 7) - 3) from the model it received, whose batch-norm
    // layers were the initial ones (ShiftTrainer keeps none of its own), so the mean is
    // 1 + 1.0 x ((k % 7) - 3); conv moved by the same mean shift in each of the two rounds.
    const std::vector<float> bn = tensor(run.pooled, "bn.weight");
    CHECK(bn[0] == Approx(1 - 3.0).margin(1e-4));
    CHECK(bn[1] == Approx(1 - 2.0).margin(1e-4));
    const std::vector<float> conv = tensor(run.pooled, "conv.weight");
    CHECK(conv[0] == Approx(2 * -3.0).margin(1e-4));
  }
}

TEST_CASE("scaffold and fedbn are job options whose conflicts name file, line and key",
          "[scaffold][fedbn][config]") {
  testing::TempDir dir;
  auto load = [&](const std::string& model, const std::string& tail) {
    write_file_atomically(dir.path + "/job.yaml",
                          "job:\n  name: hospitals\n  model: " + model +
                              "\n  classes: 2\n  image_size: 32\n  rounds: 2\n"
                              "  sites_per_round: 2\n" +
                              tail);
    return load_job_config(dir.path + "/job.yaml");
  };
  CHECK(load("cnn-small", "  scaffold: true\n").scaffold);
  const JobConfig bn = load("cnn-small-bn", "  fedbn:\n    pooled_statistics: initial\n");
  CHECK(bn.fedbn.enabled);
  CHECK(bn.fedbn.pooled_statistics == "initial");
  CHECK(load("resnet18", "  fedbn: {}\n").fedbn.pooled_statistics == "site-average");
  CHECK_THROWS_WITH(load("cnn-small", "  fedbn: {}\n"), Catch::Contains("job.yaml:") &&
                                                            Catch::Contains("'job.fedbn") &&
                                                            Catch::Contains("use cnn-small-bn"));
  CHECK_THROWS_WITH(load("cnn-small-bn", "  scaffold: true\n  fedbn: {}\n"),
                    Catch::Contains("cannot be combined with scaffold"));
  CHECK_THROWS_WITH(load("cnn-small-bn", "  personalization:\n    method: ditto\n  fedbn: {}\n"),
                    Catch::Contains("drop job.personalization or job.fedbn"));
  CHECK_THROWS_WITH(load("cnn-small-bn", "  server_momentum: 0.5\n  fedbn: {}\n"),
                    Catch::Contains("use initial, or plain FedAvg"));
  CHECK(load("cnn-small-bn", "  server_momentum: 0.5\n  fedbn:\n    pooled_statistics: initial\n")
            .fedbn.enabled);
  CHECK_THROWS_WITH(load("cnn-small-bn", "  robust_aggregation:\n    rule: median\n  fedbn: {}\n"),
                    Catch::Contains("a robust rule or differential privacy"));
  CHECK_THROWS_WITH(
      load("cnn-small-bn", "  fedbn: {}\n  differential_privacy:\n    clip_norm: 1\n"),
      Catch::Contains("a robust rule or differential privacy"));
  CHECK_THROWS_WITH(load("cnn-small-bn", "  fedbn:\n    pooled_statistics: median\n"),
                    Catch::Contains("job.yaml:9: 'job.fedbn.pooled_statistics'"));
  // What a site checks in the job spec it receives.
  wire::JobSpec spec =
      testing::CoordinatorFixture(testing::small_job("bn", 1, 1, 1), {"site-a"}, {8})
          .runner->job_spec();
  spec.mutable_fedbn()->set_enabled(true);
  spec.mutable_fedbn()->set_pooled_statistics("everything");
  CHECK_THAT(SitePolicy{}.violation(spec), Catch::Contains("fedbn.pooled_statistics"));
  spec.mutable_fedbn()->set_pooled_statistics("initial");
  spec.set_scaffold(true);
  CHECK_THAT(SitePolicy{}.violation(spec), Catch::Contains("combined with scaffold"));
}

}  // namespace fedxray

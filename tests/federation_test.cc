// End to end: a coordinator and two site agents with real LibTorch training, over gRPC with
// mutual TLS on 127.0.0.1, two rounds. The new global model must equal the sample-weighted
// average of exactly what the sites uploaded.
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "wire/model_file.h"
#include "pki/tls.h"
#include "coordinator/transport/coordinator_service.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_runner.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "data/data_source.h"
#include "site-agent/site_agent.h"
#include "training/torch_trainer.h"
#include "tests/test_support.h"
#include "tests/catch_after_torch.h"  // last: see the header

using namespace fedxray;

TEST_CASE("two sites x two rounds: each global model is the weighted mean of the uploads",
          "[integration]") {
  torch::set_num_threads(1);
  testing::TempDir state;
  JobConfig job = testing::two_round_job("it", 3, 16, 2, 16);
  job.learning_rate = 0.05;
  job.seed = 3;
  job.personalization.method = "finetune";  // a personal model at each site, never uploaded
  ModelSpec spec{job.model, job.classes, job.image_size, job.seed};
  ModelBlob initial = export_weights(*create_model(spec), spec);

  CoordinatorOptions options;
  options.state_dir = state.path;
  options.allowed_sites = {"site-a", "site-b"};
  CheckpointStore store(state.path, job.name);
  JobRunner runner(job, options, initial,
                   make_job_strategy(job, store.journal_dir()));
  CoordinatorServer server(runner, "127.0.0.1:0", make_server_credentials(testing::kit("coordinator")));
  const std::string target = "127.0.0.1:" + std::to_string(server.port());

  // What each site uploaded, per round.
  std::mutex mu;
  std::map<int, std::vector<std::pair<uint64_t, ModelBlob>>> uploads;
  std::vector<std::unique_ptr<TorchTrainer>> trainers;
  std::vector<std::unique_ptr<SiteAgent>> agents;
  int index = 0;
  for (std::string site : {"site-a", "site-b"}) {
    DataSourceConfig data;
    data.images = index == 0 ? 90 : 40;  // unequal, so the weighting matters
    data.seed = uint64_t(10 + index++);
    trainers.push_back(std::make_unique<TorchTrainer>(std::make_shared<SyntheticDataSource>(data)));
    agents.push_back(std::make_unique<SiteAgent>(dial(target, testing::kit(site)),
                                                 SiteAgentOptions{site, 30}, *trainers.back()));
    agents.back()->on_uploaded([&](int round, const TrainingResult& r) {
      std::lock_guard<std::mutex> lock(mu);
      uploads[round].emplace_back(r.samples, r.model);
    });
  }
  std::vector<std::thread> threads;
  for (auto& agent : agents) threads.emplace_back([&agent] { agent->run(); });
  const bool ok = runner.run();
  for (auto& t : threads) t.join();
  server.shutdown();
  REQUIRE(ok);

  for (int round = 1; round <= 2; ++round) {
    INFO("round " << round);
    REQUIRE(uploads[round].size() == 2);
    ModelBlob global = read_model_file(store.model_path(round));
    const auto& [n0, m0] = uploads[round][0];
    const auto& [n1, m1] = uploads[round][1];
    CHECK(m0.bytes != m1.bytes);
    std::size_t mismatches = 0;
    for (uint64_t b = 0; b < global.bytes.size(); b += 4) {
      float x0, x1, g;
      std::memcpy(&x0, m0.bytes.data() + b, 4);
      std::memcpy(&x1, m1.bytes.data() + b, 4);
      std::memcpy(&g, global.bytes.data() + b, 4);
      const double expected = (double(n0) * x0 + double(n1) * x1) / double(n0 + n1);
      mismatches += g != float(expected);
    }
    CHECK(mismatches == 0);
  }
  // Round 2 trained from round 1's global model, not from the initial one.
  CHECK(read_model_file(store.model_path(1)).bytes != initial.bytes);

  std::ifstream metrics(store.metrics_path());
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) {
    auto record = nlohmann::json::parse(line);
    CHECK(record["status"] == "completed");
    CHECK(record["reported"] == 2);
    CHECK(record["total_samples"].get<double>() > 0);
    for (const auto& site : record["sites"]) {  // the personal model's metrics are reported
      CHECK(site["metrics"]["personal_held_out_loss"].get<double>() > 0);
      CHECK(site["metrics"].contains("personal_held_out_auc"));
    }
  }
  CHECK(lines == 2);
  CHECK(read_model_file(store.pooled_path()).bytes == read_model_file(store.model_path(2)).bytes);
}

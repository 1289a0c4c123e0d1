// A federated job whose two sites read their images from a real PACS (Orthanc on loopback):
// one over DICOMweb, the other over DIMSE, each with its own labels file, cache and
// de-identification key, training with LibTorch over gRPC with mutual TLS.
#include <fstream>
#include <sstream>
#include <thread>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/transport/coordinator_service.h"
#include "data/pacs_source.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "pki/tls.h"
#include "site-agent/site_agent.h"
#include "tests/orthanc_server.h"
#include "tests/pacs_studies.h"
#include "tests/test_support.h"
#include "training/torch_trainer.h"

#include "tests/catch_after_torch.h"  // last: see the header
#include "tests/skip_test.h"          // after Catch

using namespace fedxray;

TEST_CASE("a federated job whose sites read a real PACS, one over DICOMweb and one over DIMSE",
          "[integration][pacs]") {
  if (!testing::OrthancServer::available()) {
    FEDXRAY_SKIP(
        "Orthanc with its DICOMweb plugin is not installed (scripts/setup.sh installs it)");
  }
  torch::set_num_threads(1);
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc");
  std::filesystem::create_directories(dir.path + "/made");
  // 24 studies of 12 patients; each site's labels file lists half of them.
  std::istringstream all(testing::upload_studies(pacs, dir.path + "/made", 7000, 24, 12, 1, 32));
  std::string header, line, labels_a, labels_b;
  std::getline(all, header);
  for (int i = 0; std::getline(all, line); ++i) (i < 12 ? labels_a : labels_b) += line + "\n";
  write_file_atomically(dir.path + "/labels-a.csv", header + "\n" + labels_a);
  write_file_atomically(dir.path + "/labels-b.csv", header + "\n" + labels_b);

  const JobConfig job = testing::two_round_job("pacs-job", 2, 16, 2, 4);
  ModelSpec spec{job.model, job.classes, job.image_size, job.seed};
  const ModelBlob initial = export_weights(*create_model(spec), spec);
  CoordinatorOptions options;
  options.state_dir = dir.path + "/state";
  options.allowed_sites = {"site-a", "site-b"};
  CheckpointStore store(options.state_dir, job.name);
  JobRunner runner(job, options, initial, make_job_strategy(job, store.journal_dir()));
  CoordinatorServer server(runner, "127.0.0.1:0",
                           make_server_credentials(testing::kit("coordinator")));
  const std::string target = "127.0.0.1:" + std::to_string(server.port());

  std::vector<std::unique_ptr<TorchTrainer>> trainers;
  std::vector<std::unique_ptr<SiteAgent>> agents;
  for (std::string site : {"site-a", "site-b"}) {
    DataSourceConfig data;
    data.source = "pacs";
    data.held_out_fraction = 0.25;
    data.deid_cache = dir.path + "/" + site + "-deid";
    data.pacs.labels = dir.path + "/labels-" + site.substr(5) + ".csv";
    if (site == "site-a") {
      data.pacs.url = pacs.dicomweb_url();
    } else {
      data.pacs.protocol = "dimse";
      data.pacs.host = "127.0.0.1";
      data.pacs.port = pacs.dicom_port();
      data.pacs.called_ae = pacs.ae_title();
    }
    trainers.push_back(std::make_unique<TorchTrainer>(std::make_shared<PacsSource>(data)));
    agents.push_back(std::make_unique<SiteAgent>(dial(target, testing::kit(site)),
                                                 SiteAgentOptions{site, 30}, *trainers.back()));
  }
  std::vector<std::thread> threads;
  for (auto& agent : agents) threads.emplace_back([&agent] { agent->run(); });
  const bool ok = runner.run();
  for (auto& t : threads) t.join();
  server.shutdown();
  REQUIRE(ok);

  std::ifstream metrics(store.metrics_path());
  int rounds = 0;
  for (std::string record; std::getline(metrics, record); ++rounds) {
    const auto r = nlohmann::json::parse(record);
    CHECK(r["status"] == "completed");
    CHECK(r["reported"] == 2);
    CHECK(r["total_samples"].get<double>() >= 12);  // about 9 training images per site
  }
  CHECK(rounds == 2);
  // Each site fetched its own 12 studies, no more.
  for (const char* site : {"site-a", "site-b"}) {
    const std::string journal = dir.path + "/" + site + "-deid/pacs/instances.jsonl";
    const std::string text = read_file(journal);
    CHECK(std::count(text.begin(), text.end(), '\n') == 12);
  }
}

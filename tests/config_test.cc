// Config files: every mistake is reported with the file, the dotted key and the line.
#include <catch2/catch.hpp>

#include <filesystem>

#include "config/config_reader.h"
#include "config/consortium_config.h"
#include "base/error.h"
#include "config/job_config.h"
#include "config/simulation_config.h"
#include "config/site_config.h"
#include "base/atomic_file.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

std::string job_error(const std::string& yaml) {
  testing::TempDir dir;
  const std::string file = dir.path + "/job.yaml";
  write_file_atomically(file, yaml);
  try {
    load_job_config(file);
  } catch (const ConfigError& e) {
    return std::string(e.what()).replace(0, dir.path.size(), "<dir>");
  }
  return "no error";
}

const char* kValidJob =
    "job:\n"
    "  name: wrist-erosion\n"
    "  model: cnn-small\n"
    "  classes: 3\n"
    "  image_size: 64\n"
    "  rounds: 5\n"
    "  sites_per_round: 3\n"
    "  min_sites: 2\n";

}  // namespace

TEST_CASE("a valid job file loads with defaults for optional keys", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/job.yaml", kValidJob);
  JobConfig job = load_job_config(dir.path + "/job.yaml");
  CHECK(job.name == "wrist-erosion");
  CHECK(job.classes == 3);
  CHECK(job.min_sites == 2);
  CHECK(job.optimizer == "sgd");
  CHECK(job.local_epochs == 1);
}

TEST_CASE("an unknown key names the file, the dotted key and its line", "[config]") {
  std::string e = job_error(std::string(kValidJob) + "  roundz: 4\n");
  CHECK(e.find("<dir>/job.yaml:9:") == 0);
  CHECK(e.find("unknown key 'job.roundz'") != std::string::npos);
}

TEST_CASE("a wrong type names the key, the line and what is expected", "[config]") {
  std::string yaml = kValidJob;
  yaml.replace(yaml.find("rounds: 5"), 9, "rounds: five");
  std::string e = job_error(yaml);
  CHECK(e.find("<dir>/job.yaml:6: 'job.rounds' must be an integer from 1 to 100000") == 0);
  CHECK(e.find("\"five\"") != std::string::npos);
}

TEST_CASE("an out-of-range value is refused with its line", "[config]") {
  std::string yaml = kValidJob;
  yaml.replace(yaml.find("classes: 3"), 10, "classes: 1");
  CHECK(job_error(yaml).find("<dir>/job.yaml:4: 'job.classes' must be an integer from 2 to 1000, got 1") == 0);
  yaml = std::string(kValidJob) + "  learning_rate: -1\n";
  CHECK(job_error(yaml).find("<dir>/job.yaml:9: 'job.learning_rate'") == 0);
  yaml = std::string(kValidJob) + "  optimizer: rmsprop\n";
  CHECK(job_error(yaml).find("must be one of: sgd, adam") != std::string::npos);
}

TEST_CASE("min_sites above sites_per_round is refused", "[config]") {
  std::string yaml = kValidJob;
  yaml.replace(yaml.find("min_sites: 2"), 12, "min_sites: 4");
  CHECK(job_error(yaml).find("<dir>/job.yaml:8: 'job.min_sites' must not exceed sites_per_round") == 0);
}

TEST_CASE("a missing required key names the key and the mapping", "[config]") {
  std::string e = job_error("job:\n  name: x\n  classes: 2\n");
  CHECK(e.find("<dir>/job.yaml:2: missing required key 'job.model'") == 0);
}

TEST_CASE("a YAML syntax error names the line", "[config]") {
  std::string e = job_error("job:\n  name: [unclosed\n  model: x\n");
  CHECK(e.find("<dir>/job.yaml:") == 0);
  CHECK(e.find("YAML syntax error") != std::string::npos);
}

TEST_CASE("a missing config file says so with its path", "[config]") {
  REQUIRE_THROWS_WITH(load_job_config("/nonexistent/job.yaml"),
                      Catch::Contains("/nonexistent/job.yaml: cannot open the config file"));
}

TEST_CASE("unknown keys are caught in nested sections too", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/c.yaml",
                        "consortium:\n  name: x\n  coordinator:\n    hosts: [a]\n    prt: 1\n"
                        "  sites: [s1]\n");
  REQUIRE_THROWS_WITH(load_consortium_config(dir.path + "/c.yaml"),
                      Catch::Contains("c.yaml:5: unknown key 'consortium.coordinator.prt'"));
}

TEST_CASE("duplicate or invalid participant names are refused", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/c.yaml",
                        "consortium:\n  name: x\n  coordinator:\n    hosts: [a]\n"
                        "  sites: [s1, s1]\n");
  REQUIRE_THROWS_WITH(load_consortium_config(dir.path + "/c.yaml"),
                      Catch::Contains("'consortium.sites' holds \"s1\" twice"));
  write_file_atomically(dir.path + "/c.yaml",
                        "consortium:\n  name: x\n  coordinator:\n    hosts: [a]\n"
                        "  sites: [Site_A]\n");
  REQUIRE_THROWS_WITH(load_consortium_config(dir.path + "/c.yaml"),
                      Catch::Contains("c.yaml:5: 'consortium.sites' holds \"Site_A\""));
}

TEST_CASE("per-site data sources set the number of simulated sites", "[config]") {
  testing::TempDir dir;
  const std::string job = "job:\n  name: j\n  model: cnn-small\n  classes: 2\n  image_size: 32\n"
                          "  rounds: 1\n  sites_per_round: 2\n";
  write_file_atomically(dir.path + "/s.yaml",
                        job + "simulation:\n  site_data:\n    - source: npz\n      file: a.npz\n"
                              "    - source: image_folder\n      manifest: m.csv\n");
  SimulationFile f = load_simulation_file(dir.path + "/s.yaml");
  CHECK(f.simulation.sites == 2);
  CHECK(f.simulation.site_data[0].file == dir.path + "/a.npz");
  CHECK(f.simulation.site_data[1].source == "image_folder");
  write_file_atomically(dir.path + "/s.yaml",
                        job + "simulation:\n  sites: 3\n  site_data:\n    - source: npz\n"
                              "      file: a.npz\n      fil: b\n");
  CHECK_THROWS_WITH(load_simulation_file(dir.path + "/s.yaml"),
                    Catch::Contains("s.yaml:13: unknown key 'simulation.site_data[0].fil'"));
}

TEST_CASE("the shipped configs validate", "[config]") {
  SimulationFile q = load_simulation_file(FEDXRAY_SOURCE_DIR "/configs/quickstart.yaml");
  CHECK(q.simulation.sites >= q.job.sites_per_round);
  CHECK_NOTHROW(load_consortium_config(FEDXRAY_SOURCE_DIR "/configs/consortium.yaml"));
  CHECK_NOTHROW(load_job_config(FEDXRAY_SOURCE_DIR "/configs/job.yaml"));
  CHECK_NOTHROW(load_simulation_file(FEDXRAY_SOURCE_DIR "/configs/bench/nih-pneumonia.yaml"));
  CHECK(load_simulation_file(FEDXRAY_SOURCE_DIR "/configs/bench/two-institutions.yaml")
            .simulation.sites == 2);
  // Every benchmark config loads, and the label-task ones say their task.
  int benches = 0;
  for (const auto& entry : std::filesystem::directory_iterator(FEDXRAY_SOURCE_DIR "/configs/bench")) {
    if (entry.path().extension() != ".yaml") continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(load_simulation_file(entry.path().string()));
    ++benches;
  }
  CHECK(benches >= 8);
  CHECK(load_simulation_file(FEDXRAY_SOURCE_DIR "/configs/bench/knee-kl-ordinal.yaml").job.task == "ordinal");
  CHECK(load_simulation_file(FEDXRAY_SOURCE_DIR "/configs/bench/covid-cxr-lungs.yaml").job.task ==
        "segmentation");
  CHECK(load_simulation_file(FEDXRAY_SOURCE_DIR "/configs/bench/nih-cxr14-multilabel.yaml")
            .simulation.data.label_columns.size() == 14);
}

TEST_CASE("the secure_aggregation section of a job is read and checked", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/job.yaml", std::string(kValidJob) +
                                                    "  secure_aggregation:\n"
                                                    "    threshold: 2\n"
                                                    "    clip: 4\n");
  JobConfig job = load_job_config(dir.path + "/job.yaml");
  CHECK(job.secure_aggregation.enabled);  // present = on unless `enabled: false`
  CHECK(job.secure_aggregation.threshold == 2);
  CHECK(job.secure_aggregation.clip == 4.0);
  CHECK(job.secure_aggregation.neighbours == 0);
  CHECK_THAT(job_error(std::string(kValidJob) + "  secure_aggregation:\n    threshold: 7\n"),
             Catch::Contains("job.yaml:10: 'job.secure_aggregation.threshold'") &&
                 Catch::Contains("must not exceed sites_per_round (3)"));
  std::string one_site = kValidJob;
  one_site.replace(one_site.find("min_sites: 2"), 12, "min_sites: 1");
  CHECK_THAT(job_error(one_site + "  secure_aggregation:\n    enabled: true\n"),
             Catch::Contains("min_sites >= 2"));
  CHECK_THAT(job_error(std::string(kValidJob) + "  secure_aggregation:\n    neighbors: 3\n"),
             Catch::Contains("unknown key 'job.secure_aggregation.neighbors'"));
}

TEST_CASE("a site's policy section is read and each rule names itself when broken", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/site.yaml",
                        "site:\n  name: site-a\n  coordinator: 127.0.0.1:1\n"
                        "  certificate: a.crt\n  private_key: a.key\n  ca_certificate: ca.crt\n"
                        "  policy:\n    allowed_models: [cnn-small, resnet18]\n"
                        "    max_local_epochs: 2\n    require_secure_aggregation: true\n");
  const SiteConfig site = load_site_config(dir.path + "/site.yaml");
  const SitePolicy& p = site.policy;
  REQUIRE(p.allowed_models == std::vector<std::string>{"cnn-small", "resnet18"});
  wire::JobSpec job;
  job.set_job_id("j");
  job.set_model("resnet18");
  job.set_classes(2);
  job.set_image_size(32);
  job.set_rounds(1);
  job.set_batch_size(16);
  job.set_optimizer("sgd");
  job.set_learning_rate(0.05);
  job.set_local_epochs(2);
  job.mutable_secure_aggregation()->set_clip(8);
  job.mutable_secure_aggregation()->set_enabled(true);
  CHECK(p.violation(job).empty());  // compliant
  wire::JobSpec other_model = job;
  other_model.set_model("densenet121");
  CHECK_THAT(p.violation(other_model), Catch::StartsWith("site policy 'allowed_models'") &&
                                           Catch::Contains("allows only cnn-small, resnet18"));
  wire::JobSpec long_job = job;
  long_job.set_local_epochs(3);
  CHECK_THAT(p.violation(long_job), Catch::StartsWith("site policy 'max_local_epochs'"));
  wire::JobSpec plaintext = job;
  plaintext.mutable_secure_aggregation()->set_enabled(false);
  CHECK_THAT(p.violation(plaintext), Catch::StartsWith("site policy 'require_secure_aggregation'"));
  write_file_atomically(dir.path + "/bad.yaml",
                        "site:\n  name: site-a\n  coordinator: 127.0.0.1:1\n"
                        "  certificate: a.crt\n  private_key: a.key\n  ca_certificate: ca.crt\n"
                        "  policy:\n    max_epochs: 2\n");
  REQUIRE_THROWS_WITH(load_site_config(dir.path + "/bad.yaml"),
                      Catch::Contains("bad.yaml:8: unknown key 'site.policy.max_epochs'"));

  const std::string head = "site:\n  name: site-a\n  coordinator: 127.0.0.1:1\n"
                           "  certificate: a.crt\n  private_key: a.key\n  ca_certificate: ca.crt\n"
                           "  policy:\n";
  write_file_atomically(dir.path + "/filters.yaml",
                        head + "    require_filters: [privacy-budget]\n"
                               "    forbid_filters: [dp-clip-noise]\n");
  const SitePolicy filters = load_site_config(dir.path + "/filters.yaml").policy;
  CHECK(filters.require_filters == std::vector<std::string>{"privacy-budget"});
  CHECK(filters.forbid_filters == std::vector<std::string>{"dp-clip-noise"});
  write_file_atomically(dir.path + "/unknown.yaml", head + "    forbid_filters: [gzip]\n");
  CHECK_THROWS_WITH(load_site_config(dir.path + "/unknown.yaml"),
                    Catch::Contains("unknown.yaml:8: 'site.policy.forbid_filters'") &&
                        Catch::Contains("names 'gzip', which is not an outbound filter"));
  write_file_atomically(dir.path + "/both.yaml", head + "    require_filters: [dp-clip-noise]\n"
                                                        "    forbid_filters: [dp-clip-noise]\n");
  CHECK_THROWS_WITH(load_site_config(dir.path + "/both.yaml"),
                    Catch::Contains("both.yaml:9: 'site.policy.forbid_filters'") &&
                        Catch::Contains("which require_filters also names"));
  write_file_atomically(dir.path + "/cap.yaml", head + "    forbid_filters: [sample-weight-cap]\n");
  CHECK_THROWS_WITH(load_site_config(dir.path + "/cap.yaml"),
                    Catch::Contains("'site.policy.forbid_filters'") &&
                        Catch::Contains("every job uses"));
  write_file_atomically(dir.path + "/dp.yaml", head + "    require_differential_privacy: true\n"
                                                      "    forbid_filters: [dp-clip-noise]\n");
  CHECK_THROWS_WITH(load_site_config(dir.path + "/dp.yaml"),
                    Catch::Contains("'site.policy.forbid_filters'") &&
                        Catch::Contains("require_differential_privacy requires"));
}

TEST_CASE("differential_privacy and dp_sgd sections are read with their ranges", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/job.yaml", std::string(kValidJob) +
                                                    "  differential_privacy:\n"
                                                    "    clip_norm: 0.5\n"
                                                    "    noise_multiplier: 1.2\n"
                                                    "  dp_sgd:\n"
                                                    "    enabled: false\n");
  JobConfig job = load_job_config(dir.path + "/job.yaml");
  CHECK(job.differential_privacy.enabled);
  CHECK(job.differential_privacy.clip_norm == 0.5);
  CHECK(job.differential_privacy.noise_multiplier == 1.2);
  CHECK(job.differential_privacy.delta == 1e-5);
  CHECK_FALSE(job.dp_sgd.enabled);
  CHECK_THAT(job_error(std::string(kValidJob) + "  dp_sgd:\n    noise_multiplier: 0\n"),
             Catch::Contains("'job.dp_sgd.noise_multiplier'"));
  CHECK_THAT(job_error(std::string(kValidJob) + "  differential_privacy:\n    sigma: 1\n"),
             Catch::Contains("unknown key 'job.differential_privacy.sigma'"));
}

TEST_CASE("the local-training keys for label skew are read and checked", "[config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/job.yaml", std::string(kValidJob) +
                                                    "  learning_rate_schedule: cosine\n"
                                                    "  keep_optimizer_state: true\n"
                                                    "  logit_adjustment: true\n"
                                                    "  proximal_mu: 0.01\n");
  JobConfig job = load_job_config(dir.path + "/job.yaml");
  CHECK(job.learning_rate_schedule == "cosine");
  CHECK(job.keep_optimizer_state);
  CHECK(job.logit_adjustment);
  CHECK(job.proximal_mu == 0.01);
  write_file_atomically(dir.path + "/defaults.yaml", kValidJob);
  JobConfig defaults = load_job_config(dir.path + "/defaults.yaml");
  CHECK(defaults.learning_rate_schedule == "constant");
  CHECK_FALSE(defaults.keep_optimizer_state);
  CHECK_FALSE(defaults.logit_adjustment);
  CHECK(defaults.proximal_mu == 0.0);
  const std::string e = job_error(std::string(kValidJob) + "  learning_rate_schedule: linear\n");
  CHECK(e.find("<dir>/job.yaml:9:") == 0);
  CHECK(e.find("job.learning_rate_schedule") != std::string::npos);
  CHECK(e.find("cosine") != std::string::npos);
  CHECK(job_error(std::string(kValidJob) + "  proximal_mu: -1\n").find("job.proximal_mu") !=
        std::string::npos);
}

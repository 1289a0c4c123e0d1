// Ordinal and multi-label jobs through the real `fedxray` executable on real radiographs from
// ../shared/data: simulate (coordinator and three site agents over loopback mTLS), then evaluate
// of the pooled model file and of its TorchScript export. Skipped when the data is absent.
#include <catch2/catch.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "tests/process_support.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

// A two-round, 32 px, three-site cnn-small job on `data` (a YAML `data:` mapping body, indented
// 4).
std::string simulation_yaml(const std::string& job, const std::string& data,
                            const std::string& partition) {
  return "job:\n" + job +
         "  model: cnn-small\n  image_size: 32\n  rounds: 2\n  sites_per_round: 3\n"
         "  min_sites: 3\n  local_epochs: 1\n  batch_size: 32\n  optimizer: adam\n"
         "  learning_rate: 0.002\n  seed: 3\n"
         "simulation:\n  sites: 3\n  data:\n" +
         data + "  held_out_fraction: 0.3\n  partition: " + partition + "\n  seed: 5\n";
}

std::string pooled_model_in(const std::string& work) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(work)) {
    if (entry.path().filename() == "pooled.fxm") return entry.path().string();
  }
  return "";
}

// simulate's JSON (its last output line with --json -).
nlohmann::json simulate_json(const std::string& output) {
  const std::size_t start = output.rfind("\n{");
  return nlohmann::json::parse(output.substr(start == std::string::npos ? 0 : start + 1));
}

}  // namespace

TEST_CASE(
    "an ordinal job on real knee radiographs: simulate reports kappa, evaluate and the "
    "TorchScript export grade",
    "[labels][real-data]") {
  const std::string knee = shared_data_dir() + "/knee-kl/labels.csv";
  if (!std::filesystem::exists(knee))
    FEDXRAY_SKIP(knee << " is absent (real data lives in ../shared/data)");
  TempDir dir;
  const std::string data = "    source: image_folder\n    manifest: " + knee +
                           "\n    image_column: file\n    label_column: kl_grade\n"
                           "    patient_column: oai_subject_id\n";
  write_file_atomically(
      dir.path + "/sim.yaml",
      simulation_yaml("  name: knee\n  task: ordinal\n  classes: 5\n", data, "dirichlet"));
  write_file_atomically(dir.path + "/data.yaml", "data:\n" + data);
  std::string out;
  REQUIRE(run_fedxray({"simulate", "--config", dir.path + "/sim.yaml", "--workdir",
                       dir.path + "/work", "--keep", "--json", "-"},
                      out, 600) == 0);
  CHECK_THAT(out, Catch::Contains("cross-site QWK") && Catch::Contains("did joining pay off? QWK"));
  const nlohmann::json result = simulate_json(out);
  CHECK(result["task"] == "ordinal");
  CHECK(result["metric"] == "QWK");
  const nlohmann::json pooled = result["all_held_out"]["pooled"];
  CHECK(pooled.contains("quadratic_weighted_kappa"));
  CHECK(pooled["within_one_accuracy"].get<double>() > 0.0);
  // Every site's round record carries its kappa.
  const std::string metrics = read_file(dir.path + "/work/state/knee/metrics.jsonl");
  CHECK_THAT(metrics, Catch::Contains("\"held_out_kappa\"") && Catch::Contains("\"held_out_mae\""));

  const std::string model = pooled_model_in(dir.path + "/work");
  REQUIRE(!model.empty());
  REQUIRE(run_fedxray({"evaluate", "--model", model, "--data", dir.path + "/data.yaml", "--json"},
                      out, 300) == 0);
  const nlohmann::json e = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(e["task"] == "ordinal");
  CHECK(e["confusion"].size() == 5);
  CHECK(e["mean_absolute_error"].get<double>() >= 0.0);
  REQUIRE(run_fedxray({"export", "--model", model, "--out", dir.path + "/knee.pt"}, out) == 0);
  REQUIRE(
      run_fedxray({"evaluate", "--model", dir.path + "/knee.pt", "--data", dir.path + "/data.yaml"},
                  out, 300) == 0);
  CHECK_THAT(out, Catch::Contains("quadratic kappa") && Catch::Contains("within one grade"));
}

TEST_CASE(
    "a multi-label job on real chest radiographs: per-finding AUC from simulate and "
    "evaluate, and a site without finding columns is refused",
    "[labels][real-data]") {
  const std::string cxr = shared_data_dir() + "/nih-cxr14-mini/labels.csv";
  if (!std::filesystem::exists(cxr))
    FEDXRAY_SKIP(cxr << " is absent (real data lives in ../shared/data)");
  TempDir dir;
  const std::string columns = "[Atelectasis, Cardiomegaly, Effusion, Infiltration]";
  const std::string data = "    source: image_folder\n    manifest: " + cxr +
                           "\n    image_column: file\n    label_columns: " + columns +
                           "\n    patient_column: patient_id_nih\n";
  write_file_atomically(
      dir.path + "/sim.yaml",
      simulation_yaml("  name: cxr\n  task: multilabel\n  classes: 4\n  labels: " + columns + "\n",
                      data, "iid"));
  write_file_atomically(dir.path + "/data.yaml", "data:\n" + data);
  std::string out;
  REQUIRE(run_fedxray({"simulate", "--config", dir.path + "/sim.yaml", "--workdir",
                       dir.path + "/work", "--keep", "--json", "-"},
                      out, 600) == 0);
  CHECK_THAT(out, Catch::Contains("per-finding ROC AUC") && Catch::Contains("Cardiomegaly"));
  const nlohmann::json result = simulate_json(out);
  CHECK(result["metric"] == "macro AUC");
  CHECK(result["all_held_out"]["centralised"]["label_auc"].size() == 4);

  const std::string model = pooled_model_in(dir.path + "/work");
  REQUIRE(!model.empty());
  REQUIRE(run_fedxray({"evaluate", "--model", model, "--data", dir.path + "/data.yaml", "--json"},
                      out, 300) == 0);
  const nlohmann::json e = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(e["task"] == "multilabel");
  CHECK(e["label_auc"].size() == 4);
  CHECK(e["label_average_precision"].size() == 4);
  CHECK_FALSE(e.contains("confusion"));

  // The same job where the data names one class per image: refused before any training.
  std::string single = data;
  single.replace(single.find("label_columns: " + columns), ("label_columns: " + columns).size(),
                 "label_column: Effusion");
  write_file_atomically(
      dir.path + "/single.yaml",
      simulation_yaml("  name: cxr\n  task: multilabel\n  classes: 4\n", single, "iid"));
  CHECK(run_fedxray(
            {"simulate", "--config", dir.path + "/single.yaml", "--workdir", dir.path + "/work2"},
            out) != 0);
  CHECK_THAT(out,
             Catch::Contains("the job is multilabel but this data gives one class per image"));
}

TEST_CASE("a segmentation job on real chest radiographs with hand-drawn lung masks: simulate "
          "and evaluate report Dice", "[segmentation][real-data]") {
  const std::string cxr = shared_data_dir() + "/covid-cxr/labels.csv";
  if (!std::filesystem::exists(cxr)) FEDXRAY_SKIP(cxr << " is absent (real data lives in ../shared/data)");
  TempDir dir;
  const std::string data = "    source: image_folder\n    manifest: " + cxr +
                           "\n    image_column: file\n    mask_column: lung_mask\n"
                           "    patient_column: patientid_dataset\n";
  std::string yaml = simulation_yaml("  name: lungs\n  task: segmentation\n  classes: 2\n", data, "iid");
  yaml.replace(yaml.find("model: cnn-small"), 16, "model: unet-small");
  write_file_atomically(dir.path + "/sim.yaml", yaml);
  write_file_atomically(dir.path + "/data.yaml", "data:\n" + data);
  std::string out;
  REQUIRE(run_fedxray({"simulate", "--config", dir.path + "/sim.yaml", "--workdir",
                       dir.path + "/work", "--keep", "--json", "-"}, out, 600) == 0);
  CHECK_THAT(out, Catch::Contains("cross-site Dice"));
  const nlohmann::json result = simulate_json(out);
  CHECK(result["metric"] == "Dice");
  const nlohmann::json pooled = result["all_held_out"]["pooled"];
  CHECK(pooled["dice"].is_number());  // defined (NaN would be null); quality: the bench
  CHECK(pooled.contains("hausdorff95_px"));
  CHECK_THAT(read_file(dir.path + "/work/state/lungs/metrics.jsonl"),
             Catch::Contains("\"held_out_dice\"") && Catch::Contains("\"held_out_hausdorff95\""));
  const std::string model = pooled_model_in(dir.path + "/work");
  REQUIRE(!model.empty());
  REQUIRE(run_fedxray({"evaluate", "--model", model, "--data", dir.path + "/data.yaml"}, out, 300) == 0);
  CHECK_THAT(out, Catch::Contains("Dice  ") && Catch::Contains("Hausdorff 95%"));
}

// Image and label quality control at a site through the real `fedxray` executable on real
// MedNIST images from ../shared/data: a body-part classifier trained by a short federation, then
// `qc` (images that are not the expected body part) and `audit-labels` (labels that look
// wrong), whose lists stay in local files. Skipped when the data is absent.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "tests/process_support.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
using namespace fedxray::testing;

TEST_CASE(
    "a body-part QC model flags the images that are not chest X-rays, and a label audit "
    "lists suspects locally",
    "[label-audit][real-data]") {
  const std::string dir_in = shared_data_dir() + "/mednist";
  if (!std::filesystem::exists(dir_in + "/labels.csv")) {
    FEDXRAY_SKIP(dir_in << " is absent (real data lives in ../shared/data)");
  }
  TempDir dir;
  // 40 images of each class (absolute paths), the 5th CXR relabelled Hand.
  std::ifstream in(dir_in + "/labels.csv");
  std::string line, manifest = "file,label\n";
  std::getline(in, line);
  std::map<std::string, int> taken;
  while (std::getline(in, line)) {
    const std::string file = line.substr(0, line.find(','));
    std::string label =
        line.substr(file.size() + 1, line.find(',', file.size() + 1) - file.size() - 1);
    if (taken[label]++ >= 40) continue;
    if (label == "CXR" && taken[label] == 5) label = "Hand";
    manifest += dir_in + "/" + file + "," + label + "\n";
  }
  write_file_atomically(dir.path + "/labels.csv", manifest);
  const std::string data = "    source: image_folder\n    manifest: " + dir.path +
                           "/labels.csv\n    image_column: file\n    label_column: label\n"
                           "    class_names: [AbdomenCT, BreastMRI, CXR, ChestCT, Hand, HeadCT]\n"
                           "    allow_paths_outside_manifest_folder: true\n";
  write_file_atomically(dir.path + "/data.yaml", "data:\n" + data);
  write_file_atomically(
      dir.path + "/sim.yaml",
      "job:\n  name: bodypart\n  model: cnn-small\n  classes: 6\n  image_size: 32\n"
      "  rounds: 3\n  sites_per_round: 2\n  local_epochs: 2\n  batch_size: 16\n"
      "  optimizer: adam\n  learning_rate: 0.005\n  seed: 3\n"
      "simulation:\n  sites: 2\n  data:\n" +
          data + "  held_out_fraction: 0.2\n  partition: iid\n  seed: 5\n");
  std::string out;
  REQUIRE(run_fedxray({"simulate", "--config", dir.path + "/sim.yaml", "--workdir",
                       dir.path + "/work", "--keep"},
                      out, 600) == 0);
  const std::string model = dir.path + "/work/state/bodypart/pooled.fxm";
  REQUIRE(std::filesystem::exists(model));

  REQUIRE(run_fedxray({"qc", "--model", model, "--data", dir.path + "/data.yaml", "--expect", "CXR",
                       "--out", dir.path + "/qc.csv", "--json"},
                      out, 300) == 0);
  const nlohmann::json qc = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(qc["images"] == 240);
  CHECK(qc["flagged"].get<int>() == 240 - qc["predicted"]["CXR"].get<int>());
  CHECK(qc["flagged"].get<int>() >= 150);        // most of the 200 other images
  CHECK(out.find(dir_in) == std::string::npos);  // no file name on screen
  const std::string list = read_file(dir.path + "/qc.csv");
  CHECK(list.rfind("origin,predicted,probability,expected\n", 0) == 0);
  CHECK_THAT(list, Catch::Contains("HeadCT/"));
  CHECK(run_fedxray({"qc", "--model", model, "--data", dir.path + "/data.yaml", "--expect", "Knee"},
                    out) != 0);
  CHECK_THAT(out, Catch::Contains("--expect Knee is not one of the model's classes"));

  REQUIRE(run_fedxray({"audit-labels", "--model", model, "--data", dir.path + "/data.yaml",
                       "--folds", "3", "--epochs", "1", "--out", dir.path + "/audit.csv", "--json"},
                      out, 300) == 0);
  const nlohmann::json audit = nlohmann::json::parse(out.substr(out.find('{')));
  CHECK(audit["images"] == 240);
  CHECK(out.find(dir_in) == std::string::npos);
  const std::string suspects = read_file(dir.path + "/audit.csv");
  CHECK(suspects.rfind("rank,origin,given,suspected,p_given,p_suspected\n", 0) == 0);
  std::size_t rows = 0;
  for (char c : suspects) rows += c == '\n';
  CHECK(rows == audit["suspected"].get<std::size_t>() + 1);
}

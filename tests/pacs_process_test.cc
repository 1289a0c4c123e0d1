// The site agent's PACS commands through the real `fedxray` executable against a real Orthanc:
// `site --pacs-status` and `site --pacs-sync`, a sync killed with SIGKILL part-way and resumed
// (every instance recorded once, nothing half-written left), and a PACS that is down (exit 3,
// a clear status, no crash).
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "tests/orthanc_server.h"
#include "tests/pacs_studies.h"
#include "tests/process_support.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
using namespace fedxray::testing;
namespace fs = std::filesystem;

namespace {

std::size_t lines_in(const std::string& path) {
  if (!fs::exists(path)) return 0;
  const std::string text = read_file(path);
  return std::size_t(std::count(text.begin(), text.end(), '\n'));
}

// The JSON object a command printed: from a line that is "{" to the next line that is "}".
nlohmann::json printed_json(const std::string& out) {
  const std::size_t at =
      out.rfind("\n{\n") == std::string::npos ? out.find("{\n") : out.rfind("\n{\n") + 1;
  const std::size_t end = out.find("\n}", at);
  return nlohmann::json::parse(out.substr(at, end == std::string::npos ? end : end + 2 - at));
}

}  // namespace

TEST_CASE(
    "site --pacs-sync killed with SIGKILL part-way resumes without loss or duplicates, "
    "and a PACS that is down gives exit 3 and a clear status",
    "[pacs][orthanc][process]") {
  if (!OrthancServer::available()) {
    FEDXRAY_SKIP(
        "Orthanc with its DICOMweb plugin is not installed (scripts/setup.sh installs it)");
  }
  TempDir dir;
  OrthancServer pacs(dir.path + "/orthanc");
  fs::create_directories(dir.path + "/made");
  const int kStudies = 200;
  write_file_atomically(dir.path + "/labels.csv",
                        upload_studies(pacs, dir.path + "/made", 5000, kStudies, 50, 1, 192));
  const TlsFiles kit_files = kit("site-a");
  write_file_atomically(dir.path + "/site.yaml",
                        "site:\n  name: site-a\n  coordinator: 127.0.0.1:1\n  certificate: " +
                            kit_files.certificate + "\n  private_key: " + kit_files.private_key +
                            "\n  ca_certificate: " + kit_files.ca_certificate +
                            "\n  data:\n    source: pacs\n    deid_cache: " + dir.path +
                            "/deid\n    pacs:\n"
                            "      url: " +
                            pacs.dicomweb_url() +
                            "\n      labels: labels.csv\n"
                            "      modality: CR\n      retries: 2\n      retry_seconds: 0.1\n      "
                            "timeout_seconds: 5\n");
  const std::vector<std::string> site = {"site", "--config", dir.path + "/site.yaml"};
  auto with = [&](const char* flag) {
    std::vector<std::string> args = site;
    args.push_back(flag);
    return args;
  };

  std::string out;
  REQUIRE(run_fedxray(with("--pacs-status"), out) == 0);
  nlohmann::json status = printed_json(out);
  CHECK(status["reachable"] == true);
  CHECK(status["studies_with_labels"] == kStudies);
  CHECK(status["studies_with_labels_not_cached"] == kStudies);
  CHECK(status["cache"]["instances"] == 0);
  CHECK(out.find("ACC5000") == std::string::npos);  // no accession number in what it prints

  // Kill the sync once some instances are recorded and before all are.
  const std::string journal = dir.path + "/deid/pacs/instances.jsonl";
  {
    Process sync(with("--pacs-sync"), dir.path + "/killed.log");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (lines_in(journal) < 20 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    sync.kill(SIGKILL);
    sync.wait(10);
  }
  const std::size_t before = lines_in(journal);
  INFO("recorded before the kill: " << before);
  REQUIRE(before >= 20);
  REQUIRE(before < std::size_t(kStudies));  // the kill landed part-way

  REQUIRE(run_fedxray(with("--pacs-sync"), out) == 0);
  const nlohmann::json resumed = printed_json(out);
  CHECK(resumed["already_cached"].get<std::size_t>() + resumed["fetched"].get<std::size_t>() ==
        std::size_t(kStudies));
  CHECK(resumed["already_cached"].get<std::size_t>() >=
        before - 1);  // a torn last record is refetched
  CHECK(resumed["quarantined"] == 0);
  CHECK(resumed["failed"] == 0);
  // Every instance recorded exactly once, each with its copy, and nothing left half-done.
  CHECK(lines_in(journal) == std::size_t(kStudies));
  std::set<std::string> sops;
  std::istringstream records(read_file(journal));
  for (std::string line; std::getline(records, line);) {
    const nlohmann::json r = nlohmann::json::parse(line);
    sops.insert(r["sop"].get<std::string>());
    CHECK(fs::exists(r["copy"].get<std::string>()));
  }
  CHECK(sops.size() == std::size_t(kStudies));
  CHECK(fs::is_empty(dir.path + "/deid/pacs/incoming"));

  // Nothing new: nothing fetched.
  REQUIRE(run_fedxray(with("--pacs-sync"), out) == 0);
  CHECK(printed_json(out)["fetched"] == 0);
  CHECK(printed_json(out)["already_cached"] == kStudies);

  // The PACS goes down: a clear status and exit 3, never a crash.
  pacs.stop();
  CHECK(run_fedxray(with("--pacs-status"), out) == 3);
  status = printed_json(out);
  CHECK(status["reachable"] == false);
  CHECK_THAT(status["error"].get<std::string>(), Catch::Contains("cannot connect"));
  CHECK(status["cache"]["instances"] == kStudies);
  CHECK(run_fedxray(with("--pacs-sync"), out) == 3);
  CHECK_THAT(printed_json(out)["stopped"].get<std::string>(),
             Catch::Contains("unreachable after 2 tries"));
}

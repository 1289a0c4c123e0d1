// Operations with real processes: the built `fedxray` coordinator, site agents and admin CLI on
// 127.0.0.1 with mutual TLS, real training (cnn-small on synthetic radiographs) and a real
// SQLite state file. kill -9 the coordinator during a round and a site agent too; the job must
// complete with every round exactly once and an unbroken model hash chain.
#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "wire/model_file.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/store/sqlite_database.h"
#include "coordinator/store/state_database.h"
#include "tests/process_consortium.h"
#include "tests/process_support.h"
#include "tests/test_support.h"

using namespace fedxray;
using namespace fedxray::testing;
using namespace std::chrono_literals;

TEST_CASE("kill -9 of the coordinator mid-round and of a site: the job completes, every round "
          "exactly once, with an unbroken model hash chain", "[operations]") {
  Consortium c;
  const int rounds = 8;
  const std::string job = c.write_job("crash-test", rounds);
  const std::string logs = c.dir.path;
  auto coordinator = std::make_unique<Process>(c.coordinator_args(job), logs + "/coordinator-1.log");
  std::this_thread::sleep_for(300ms);
  auto site_a = std::make_unique<Process>(c.site_args("site-a"), logs + "/site-a-1.log");
  Process site_b(c.site_args("site-b"), logs + "/site-b.log");

  // Kill the coordinator while round 3 or later is being run.
  bool mid_round = wait_for_rounds(c.state_dir(), "crash-test", [](const std::vector<RoundRow>& r) {
    return completed(r) >= 2 && !r.empty() && r.back().status == "running";
  });
  INFO(read_file(logs + "/coordinator-1.log"));
  REQUIRE(mid_round);
  coordinator->kill(SIGKILL);
  REQUIRE(coordinator->wait(10) == 128 + SIGKILL);
  const int before = completed(StateDatabase(c.state_dir()).rounds("crash-test"));
  std::this_thread::sleep_for(1500ms);  // the sites notice and back off
  coordinator = std::make_unique<Process>(c.coordinator_args(job), logs + "/coordinator-2.log");

  // Then kill a site agent mid-round and start it again.
  REQUIRE(wait_for_rounds(c.state_dir(), "crash-test", [&](const std::vector<RoundRow>& r) {
    return completed(r) >= before + 1 && r.back().status == "running";
  }));
  site_a->kill(SIGKILL);
  site_a->wait(10);
  std::this_thread::sleep_for(500ms);
  site_a = std::make_unique<Process>(c.site_args("site-a"), logs + "/site-a-2.log");

  const int rc = coordinator->wait(240);
  INFO("coordinator after restart:\n" << read_file(logs + "/coordinator-2.log"));
  REQUIRE(rc == 0);
  CHECK(site_a->wait(30) == 0);
  CHECK(site_b.wait(30) == 0);
  CHECK_THAT(read_file(logs + "/coordinator-2.log"),
             Catch::Contains("resumes after round " + std::to_string(before)));

  // Every round completed exactly once, in the database and in metrics.jsonl.
  StateDatabase db(c.state_dir());
  const auto rows = db.rounds("crash-test");
  REQUIRE(rows.size() == std::size_t(rounds));
  for (int r = 1; r <= rounds; ++r) {
    CHECK(rows[r - 1].round == r);
    CHECK(rows[r - 1].status == "completed");
  }
  CHECK(db.job("crash-test")->status == "completed");
  const CheckpointStore store(c.state_dir(), "crash-test");
  std::ifstream metrics(store.metrics_path());
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(metrics, line);) records.push_back(nlohmann::json::parse(line));
  REQUIRE(records.size() == std::size_t(rounds));

  // The hash chain: each round's model file matches its record, and links to the round before.
  std::string previous = ModelFileReader(store.model_path(0)).manifest().sha256();
  for (int r = 1; r <= rounds; ++r) {
    const auto& record = records[std::size_t(r - 1)];
    CHECK(record["round"] == r);
    CHECK(record["status"] == "completed");
    CHECK(record["previous_model_sha256"] == previous);
    // No site counted twice: each listed once, and the pooled weight is the reporters' samples.
    std::set<std::string> names;
    uint64_t samples = 0;
    for (const auto& s : record["sites"]) {
      names.insert(s["site"].get<std::string>());
      if (s["status"] == "reported") samples += s["samples"].get<uint64_t>();
    }
    CHECK(names.size() == record["sites"].size());
    CHECK(record["total_samples"].get<double>() == double(samples));
    CHECK(rows[r - 1].previous_sha256 == previous);
    const std::string sha = ModelFileReader(store.model_path(r)).read_all().manifest.sha256();
    CHECK(record["model_sha256"] == sha);
    CHECK(rows[r - 1].model_sha256 == sha);
    previous = sha;
  }
  CHECK(ModelFileReader(store.pooled_path()).manifest().sha256() == previous);

  // The audit log saw the resume and is intact.
  AuditLog audit(db.connection());
  CHECK(audit.verify().intact);
  bool resumed = false;
  for (const auto& r : audit.records()) resumed |= r.action == "resume";
  CHECK(resumed);
}

TEST_CASE("fedxray admin against a live coordinator: submit, jobs, status, sites, metrics, "
          "download, abort, audit --verify", "[operations]") {
  Consortium c;
  const int coordinator_metrics = free_loopback_port(), site_metrics = free_loopback_port();
  {
    std::ofstream(c.kits() + "/coordinator/coordinator.yaml", std::ios::app)
        << "\n  metrics_listen: \"127.0.0.1:" << coordinator_metrics << "\"\n"
        << "  revocation_list: " << c.kits() << "/ca/crl.pem\n";
    std::ofstream(c.kits() + "/site-a/site.yaml", std::ios::app)
        << "\n  metrics_listen: \"127.0.0.1:" << site_metrics << "\"\n";
  }
  Process coordinator(c.coordinator_args(""), c.dir.path + "/coordinator.log");
  Process site_a(c.site_args("site-a", true), c.dir.path + "/site-a.log");
  Process site_b(c.site_args("site-b", true), c.dir.path + "/site-b.log");
  std::string out;
  for (int i = 0; i < 150 && run_fedxray(c.admin({"jobs"}), out) != 0; ++i) {
    std::this_thread::sleep_for(200ms);  // until the coordinator listens
  }

  // A job file with an error is refused with file, line and key.
  const std::string bad = c.dir.path + "/bad.yaml";
  write_file_atomically(bad, "job:\n  name: bad\n  model: cnn-small\n  classes: 3\n"
                             "  image_size: 32\n  rounds: 0\n  sites_per_round: 2\n");
  CHECK(run_fedxray(c.admin({"submit", bad}), out) == 1);
  CHECK_THAT(out, Catch::Contains("bad.yaml:6") && Catch::Contains("job.rounds"));

  REQUIRE(run_fedxray(c.admin({"submit", c.write_job("short", 3)}), out) == 0);
  CHECK_THAT(out, Catch::Contains("job short queued"));
  REQUIRE(run_fedxray(c.admin({"submit", c.write_job("long", 10000)}), out) == 0);
  CHECK_THAT(out, Catch::Contains("behind 1"));

  REQUIRE(wait_for_rounds(c.state_dir(), "long", [](const std::vector<RoundRow>& r) {
    return completed(r) >= 1;
  }));
  REQUIRE(run_fedxray(c.admin({"--json", "jobs"}), out) == 0);
  const auto jobs = nlohmann::json::parse(out)["jobs"];
  REQUIRE(jobs.size() == 2);
  CHECK(jobs[0]["status"] == "completed");
  CHECK(jobs[1]["status"] == "running");

  REQUIRE(run_fedxray(c.admin({"status", "long"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("job long: running") && Catch::Contains("estimated time left"));
  REQUIRE(run_fedxray(c.admin({"sites"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("site-a") && Catch::Contains("yes") && Catch::Contains("0.1.0"));

  REQUIRE(run_fedxray(c.admin({"metrics", "short", "--csv"}), out) == 0);
  CHECK_THAT(out, Catch::StartsWith("round,status,site,site_status,samples"));
  CHECK(std::count(out.begin(), out.end(), '\n') == 1 + 3 * 2);
  REQUIRE(run_fedxray(c.admin({"--json", "metrics", "short"}), out) == 0);
  CHECK(nlohmann::json::parse(out).size() == 3);
  const std::string last_sha = nlohmann::json::parse(out)[2]["model_sha256"].get<std::string>();
  // The researcher's report: one HTML file with the job's configuration and every round's hash.
  const std::string report = c.dir.path + "/short.html";
  REQUIRE(run_fedxray(c.admin({"report", "short", "--out", report}), out) == 0);
  CHECK_THAT(out, Catch::Contains("(3 rounds) written to"));
  const std::string html = read_file(report);
  CHECK_THAT(html, Catch::Contains("<h1>fedxray job short</h1>") && Catch::Contains("name: short"));
  CHECK(html.find(last_sha) != std::string::npos);
  CHECK(html.find("<polyline") != std::string::npos);

  const std::string pt = c.dir.path + "/short.pt";
  REQUIRE(run_fedxray(c.admin({"download", "short", "--round", "2", "--out", pt}), out) == 0);
  CHECK_THAT(out, Catch::Contains("round 2 model (TorchScript"));
  std::string evaluated;
  CHECK(run_fedxray({"evaluate", "--model", pt, "--data", c.kits() + "/site-a/site.yaml"},
                    evaluated) == 0);
  // --all: every image of the source, not only the held-out split.
  std::string held_json, all_json;
  REQUIRE(run_fedxray({"evaluate", "--json", "--model", pt, "--data",
                       c.kits() + "/site-a/site.yaml"}, held_json) == 0);
  REQUIRE(run_fedxray({"evaluate", "--json", "--all", "--model", pt, "--data",
                       c.kits() + "/site-a/site.yaml"}, all_json) == 0);
  const auto held = nlohmann::json::parse(held_json), all = nlohmann::json::parse(all_json);
  CHECK(held["scope"] == "held-out split");
  CHECK(all["scope"] == "every image");
  CHECK(all["images"].get<int>() > 2 * held["images"].get<int>());
  // A site fine-tunes the round-2 model on its own data; the result stays in the given file.
  const std::string personal = c.dir.path + "/personalised.fxm";
  std::string personalised;
  REQUIRE(run_fedxray({"personalise", "--json", "--model",
                       c.state_dir() + "/short/global-round-0002.fxm", "--data",
                       c.kits() + "/site-a/site.yaml", "--epochs", "1", "--out", personal},
                      personalised) == 0);
  const auto p = nlohmann::json::parse(personalised);
  CHECK(p["held_out_images"] == held["images"]);
  CHECK(p["personalised_metrics"]["accuracy"].get<double>() >= 0);
  CHECK(std::filesystem::exists(personal));
  CHECK(run_fedxray(c.admin({"download", "short", "--round", "9", "--out", pt}), out) == 1);
  CHECK_THAT(out, Catch::Contains("has not completed"));

  // Monitoring: both expose Prometheus text on their loopback metrics port.
  {
    httplib::Client coordinator_http("127.0.0.1", coordinator_metrics);
    auto res = coordinator_http.Get("/metrics");
    REQUIRE(res);
    CHECK_THAT(res->body, Catch::Contains("fedxray_rounds_total{status=\"completed\"}") &&
                              Catch::Contains("fedxray_current_round{job=\"long\"}") &&
                              Catch::Contains("fedxray_sites_connected 2"));
    httplib::Client site_http("127.0.0.1", site_metrics);
    res = site_http.Get("/metrics");
    REQUIRE(res);
    CHECK_THAT(res->body, Catch::Contains("fedxray_site_coordinator_reachable 1") &&
                              Catch::Contains("fedxray_site_rounds_total{outcome=\"uploaded\"}"));
    CHECK(res->body.find("fedxray_site_rounds_total{outcome=\"uploaded\"} 0\n") == std::string::npos);
    CHECK(site_http.Get("/healthz")->status == 200);
  }

  REQUIRE(run_fedxray(c.admin({"abort", "long"}), out) == 0);
  REQUIRE(wait_for_rounds(c.state_dir(), "long", [&](const std::vector<RoundRow>&) {
    return StateDatabase(c.state_dir()).job("long")->status == "aborted";
  }));

  REQUIRE(run_fedxray(c.admin({"audit", "--verify", "--limit", "0"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("audit log intact"));
  CHECK_THAT(out, Catch::Contains("CN=alice,OU=admin") && Catch::Contains("abort"));

  // An edited record is caught.
  StateDatabase(c.state_dir()).connection()->exec(
      "UPDATE audit SET actor = 'CN=mallory,OU=admin' WHERE action = 'abort'");
  CHECK(run_fedxray(c.admin({"audit", "--verify"}), out) == 1);
  CHECK_THAT(out, Catch::Contains("TAMPERED") && Catch::Contains("edited"));

  // A site certificate cannot use the admin API.
  const std::string site_kit = c.dir.path + "/site-as-admin";
  std::filesystem::create_directories(site_kit);
  write_file_atomically(site_kit + "/admin.yaml",
                        "admin:\n  name: site-a\n  coordinator: \"" + c.target() + "\"\n"
                        "  certificate: " + c.kits() + "/site-a/site-a.crt\n  private_key: " +
                        c.kits() + "/site-a/site-a.key\n  ca_certificate: " + c.kits() +
                        "/site-a/ca.crt\n");
  CHECK(run_fedxray({"admin", "--kit", site_kit, "jobs"}, out) == 1);
  CHECK_THAT(out, Catch::Contains("only admin or researcher certificates"));

  // `fedxray provision revoke alice` locks her out from her next call, without a restart.
  REQUIRE(run_fedxray({"provision", "revoke", "alice", "--out", c.kits()}, out) == 0);
  std::this_thread::sleep_for(1200ms);  // the coordinator re-reads the list at most once a second
  CHECK(run_fedxray(c.admin({"jobs"}), out) == 1);
  CHECK_THAT(out, Catch::Contains("alice") && Catch::Contains("revoked"));
  coordinator.kill(SIGTERM);
  CHECK(coordinator.wait(30) == 0);
}

// round_overhead: how long a federated round takes when nobody trains — the cost of the
// federation itself (mTLS transport, chunked streaming, aggregation, checkpointing).
//
//   build/bench/round_overhead --sites 10 --params 11200000 --rounds 6
//
// The coordinator and every site run as separate processes on 127.0.0.1 with mutual TLS. Sites
// return the received model plus a small deterministic perturbation. Prints the median round
// time over rounds 2..R and the coordinator's peak RSS; the last line is one JSON object.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/log.h"
#include "base/memory_tuning.h"
#include "bench/perturb_trainer.h"
#include "bench/resnet_layout.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/coordinator_service.h"
#include "pki/provisioning.h"
#include "pki/tls.h"
#include "site-agent/site_agent.h"
#include "site-agent/transport/secure_upload.h"
#include "wire/model_file.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

TlsFiles kit(const std::string& dir, const std::string& name) {
  const std::string d = dir + "/kits/" + name + "/";
  return {d + name + ".crt", d + name + ".key", d + "ca.crt"};
}

int run_coordinator(const std::string& dir, int sites, int rounds, bool secure, int neighbours,
                    bool state_db) {
  JobConfig job;
  job.name = "bench";
  job.model = "resnet18-layout";
  job.rounds = rounds;
  job.sites_per_round = sites;
  job.min_sites = sites;
  job.round_deadline_s = 600;
  job.secure_aggregation.enabled = secure;
  job.secure_aggregation.neighbours = neighbours;
  CoordinatorOptions options;
  options.state_dir = dir + (secure ? "/state-secure" : "/state");
  options.heartbeat_timeout_s = 120;
  std::shared_ptr<AuditLog> audit;
  if (state_db) {  // as `fedxray coordinator` runs: every round and upload recorded in SQLite
    options.state = std::make_shared<StateDatabase>(options.state_dir);
    audit = std::make_shared<AuditLog>(options.state->connection());
  }
  CheckpointStore store(options.state_dir, job.name);
  JobRunner runner(job, options, read_model_file(dir + "/initial.fxm"),
                   make_job_strategy(job, store.journal_dir(),
                                     read_file(kit(dir, "coordinator").ca_certificate)));
  CoordinatorServer server(runner, "127.0.0.1:0", make_server_credentials(kit(dir, "coordinator")));
  if (state_db) server.service().use_state(options.state, audit);
  write_file_atomically(dir + "/port", std::to_string(server.port()));
  const bool ok = runner.run();
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!runner.all_sites_told_finished() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  server.shutdown();
  return ok ? 0 : 1;
}

int run_site(const std::string& dir, int index, int port) {
  const std::string name = "site-" + std::to_string(index);
  bench::PerturbTrainer trainer(index, 1000 + uint64_t(index));
  SiteAgent agent(dial("127.0.0.1:" + std::to_string(port), kit(dir, name)),
                  {name, 60, read_site_credentials(name, kit(dir, name))}, trainer);
  agent.run();
  return 0;
}

pid_t spawn(const std::vector<std::string>& args) {
  pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv("/proc/self/exe", argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

int main(int argc, char** argv) {
  keep_model_buffers_mapped();
  CLI::App app{"round_overhead: federated round time with no training, N site processes"};
  int sites = 10, rounds = 6, index = 0, port = 0;
  int64_t params = 11200000;
  std::string role = "driver", workdir;
  bool secure_aggregation = false;
  int neighbours = 0;
  bool state_db = false;
  app.add_option("--sites", sites, "site processes")->capture_default_str();
  app.add_option("--params", params, "model parameters (ResNet-18 layout)")->capture_default_str();
  app.add_option("--rounds", rounds, "rounds (the median uses rounds 2..R)")->capture_default_str();
  app.add_option("--workdir", workdir, "folder for kits and state (default: temp)");
  app.add_flag("--secure-aggregation", secure_aggregation,
               "also run the job with secure aggregation and compare (coordinator role: use it)");
  app.add_option("--neighbours", neighbours,
                 "secure aggregation graph degree (0 = the job default, 2 ceil(log2 n) + 2)");
  app.add_flag("--state-db", state_db,
               "record rounds, site states and uploads in the SQLite state database and audit log, "
               "as `fedxray coordinator` does");
  app.add_option("--role", role)->group("");  // internal: driver, coordinator, site
  app.add_option("--index", index)->group("");
  app.add_option("--port", port)->group("");
  CLI11_PARSE(app, argc, argv);
  init_logging(role == "site" && getenv("FEDXRAY_BENCH_LOG") ? "info" : "warn");

  if (role == "coordinator") {
    return run_coordinator(workdir, sites, rounds, secure_aggregation, neighbours, state_db);
  }
  if (role == "site") return run_site(workdir, index, port);

  const bool temp = workdir.empty();
  if (temp) {
    std::string tmpl = (fs::temp_directory_path() / "fedxray-bench-XXXXXX").string();
    workdir = ::mkdtemp(tmpl.data());
  }
  ConsortiumConfig consortium;
  consortium.name = "bench";
  consortium.coordinator_hosts = {"127.0.0.1"};
  for (int i = 1; i <= sites; ++i) consortium.sites.push_back("site-" + std::to_string(i));
  provision_consortium(consortium, workdir + "/kits", false);
  ModelBlob initial = bench::resnet18_like_model(params, 1);
  const int64_t actual = bench::element_count(initial.manifest);
  write_model_file(workdir + "/initial.fxm", initial);
  initial = ModelBlob{};

  struct JobRun {
    std::vector<double> seconds;
    double median = 0, peak_rss_mb = 0;
    int exit = 0;
  };
  auto run_job = [&](bool secure) -> JobRun {
    fs::remove(workdir + "/port");
    const std::string self = "round_overhead";
    std::vector<std::string> args = {self, "--role", "coordinator", "--workdir", workdir, "--sites",
                                     std::to_string(sites), "--rounds", std::to_string(rounds)};
    if (state_db) args.push_back("--state-db");
    if (secure) {
      args.push_back("--secure-aggregation");
      args.push_back("--neighbours");
      args.push_back(std::to_string(neighbours));
    }
    pid_t coordinator = spawn(args);
    while (!fs::exists(workdir + "/port")) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::string port_text = read_file(workdir + "/port");
    std::vector<pid_t> site_pids;
    for (int i = 1; i <= sites; ++i) {
      site_pids.push_back(spawn({self, "--role", "site", "--workdir", workdir, "--index",
                                 std::to_string(i), "--port", port_text}));
    }
    int status = 0;
    struct rusage usage {};
    wait4(coordinator, &status, 0, &usage);
    JobRun run;
    run.peak_rss_mb = double(usage.ru_maxrss) / 1024.0;
    run.exit = WEXITSTATUS(status);
    for (pid_t p : site_pids) waitpid(p, nullptr, 0);
    std::ifstream metrics(workdir + (secure ? "/state-secure" : "/state") + "/bench/metrics.jsonl");
    for (std::string line; std::getline(metrics, line);) {
      auto r = nlohmann::json::parse(line);
      if (r["status"] != "completed") throw Error("round " + r["round"].dump() + " failed: " + r.dump());
      run.seconds.push_back(r["seconds"].get<double>());
    }
    if (int(run.seconds.size()) != rounds || rounds < 2) {
      throw Error("expected " + std::to_string(rounds) + " completed rounds, got " +
                  std::to_string(run.seconds.size()));
    }
    std::vector<double> steady(run.seconds.begin() + 1, run.seconds.end());
    std::sort(steady.begin(), steady.end());
    run.median = steady[steady.size() / 2];
    for (std::size_t i = 0; i < run.seconds.size(); ++i) {
      std::cout << (secure ? "secure " : "") << "round " << i + 1 << ": " << run.seconds[i] << " s\n";
    }
    std::cout << (secure ? "secure aggregation: " : "plaintext: ") << "sites=" << sites
              << " params=" << actual << " (" << actual * 4 / (1 << 20) << " MiB) median round (2.."
              << rounds << ") = " << run.median << " s, coordinator peak RSS = " << run.peak_rss_mb
              << " MB\n";
    return run;
  };
  JobRun plain, secure;
  try {
    plain = run_job(false);
    if (secure_aggregation) secure = run_job(true);
  } catch (const Error& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  if (temp) fs::remove_all(workdir);
  nlohmann::json out = {{"bench", "round_overhead"}, {"sites", sites},
                        {"params", actual},          {"rounds", rounds},
                        {"median_round_s", plain.median},  {"coordinator_peak_rss_mb", plain.peak_rss_mb},
                        {"round_seconds", plain.seconds},  {"coordinator_exit", plain.exit}};
  if (secure_aggregation) {
    std::cout << "secure / plaintext median round time = " << secure.median / plain.median << "\n";
    out["secure_median_round_s"] = secure.median;
    out["secure_round_seconds"] = secure.seconds;
    out["secure_coordinator_peak_rss_mb"] = secure.peak_rss_mb;
    out["secure_over_plaintext"] = secure.median / plain.median;
  }
  std::cout << out.dump() << std::endl;
  return 0;
}

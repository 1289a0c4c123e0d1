#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "common/atomic_file.h"
#include "cli/exit_code.h"
#include "cli/initial_model.h"
#include "cli/signal_stop.h"
#include "common/coordinator_config.h"
#include "common/job_config.h"
#include "common/tls.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/fedavg_strategy.h"
#include "coordinator/job_runner.h"
#include "common/model_file.h"
#include "models/torchscript_model.h"

namespace fedxray {

void add_coordinator_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("coordinator", "Run the coordinator for one training job");
  auto config_path = std::make_shared<std::string>();
  auto job_path = std::make_shared<std::string>();
  auto listen = std::make_shared<std::string>();
  auto finish_grace = std::make_shared<double>(15.0);
  cmd->add_option("--config", *config_path, "coordinator YAML from the startup kit")->required();
  cmd->add_option("--job", *job_path, "job YAML (model, rounds, sites per round, ...)")->required();
  cmd->add_option("--listen", *listen, "override coordinator.listen (address:port)");
  cmd->add_option("--finish-grace", *finish_grace,
                  "seconds to keep serving after the job ends so sites hear it is over");
  cmd->callback([=] {
    CoordinatorConfig config = load_coordinator_config(*config_path);
    JobConfig job = load_job_config(*job_path);
    if (!listen->empty()) config.listen = *listen;
    CoordinatorOptions options;
    options.state_dir = config.state_dir;
    options.allowed_sites = config.sites;
    options.heartbeat_timeout_s = config.heartbeat_timeout_s;
    options.ca_pem = read_file(config.ca_certificate);
    CheckpointStore journal_home(options.state_dir, job.name);
    JobRunner runner(job, options, make_initial_model(job),
                     std::make_unique<FedAvgStrategy>(job.seed, journal_home.journal_dir()));
    stop_on_signal([&runner] { runner.stop("signal received"); });
    CoordinatorServer server(
        runner, config.listen,
        make_server_credentials({config.certificate, config.private_key, config.ca_certificate}));
    if (!config.revocation_list.empty()) {
      server.use_revocation_list(config.revocation_list, options.ca_pem);
    }
    const bool ok = runner.run();
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(int64_t(*finish_grace * 1000));
    while (!runner.all_sites_told_finished() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    server.shutdown();
    std::string torchscript;
    if (ok) {
      torchscript = runner.store().dir() + "/pooled.pt";
      export_torchscript(read_model_file(runner.store().pooled_path()), torchscript);
    }
    std::cout << (ok ? "job completed: " : "job failed: ") << runner.progress().message
              << "\nmetrics: " << runner.store().metrics_path() << "\n";
    if (ok) {
      std::cout << "pooled model: " << runner.store().pooled_path() << " and " << torchscript
                << " (TorchScript)\n";
    }
    if (!ok) throw CommandFailed(1, "the job did not complete; see " + runner.store().metrics_path());
  });
}

}  // namespace fedxray

#include <CLI/CLI.hpp>

#include <iostream>

#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/signal_stop.h"
#include "coordinator/daemon.h"
#include "models/torchscript_model.h"
#include "pki/tls.h"
#include "simulation/initial_model.h"
#include "wire/model_file.h"

namespace fedxray {

void add_coordinator_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "coordinator",
      "Run the coordinator: serve the sites and the admin API, and run queued jobs one by one");
  auto config_path = std::make_shared<std::string>();
  auto job_path = std::make_shared<std::string>();
  auto listen = std::make_shared<std::string>();
  auto finish_grace = std::make_shared<double>(15.0);
  auto serve = std::make_shared<bool>(false);
  cmd->add_option("--config", *config_path, "coordinator YAML from the startup kit")->required();
  cmd->add_option("--job", *job_path,
                  "job YAML to run: queued unless a job of that name is recorded already (then it "
                  "is resumed after its last completed round); the coordinator exits when it ends");
  cmd->add_option("--listen", *listen, "override coordinator.listen (address:port)");
  cmd->add_option("--finish-grace", *finish_grace,
                  "seconds to keep serving after the job ends so sites hear it is over");
  cmd->add_flag("--serve", *serve,
                "keep serving after the --job ends, running jobs admins submit (without --job "
                "this is the default)");
  cmd->callback([=] {
    DaemonSettings settings;
    settings.config = load_coordinator_config(*config_path);
    warn_if_certificate_expires_soon(settings.config.certificate, "coordinator");
    if (!listen->empty()) settings.config.listen = *listen;
    settings.job_path = *job_path;
    settings.serve = *serve;
    settings.finish_grace_s = *finish_grace;
    settings.initial_model = make_initial_model;
    settings.export_torchscript = [](const std::string& fxm, const std::string& pt) {
      export_torchscript(read_model_file(fxm), pt);
    };
    settings.install_stop_handler = [](std::function<void()> stop) {
      stop_on_signal(std::move(stop));
    };
    const DaemonOutcome outcome = run_coordinator_daemon(settings);
    if (outcome.job.empty()) {
      std::cout << "coordinator stopped; jobs left running resume when it starts again\n";
      return;
    }
    std::cout << "job " << outcome.job << " " << outcome.status << ": " << outcome.message
              << "\nmetrics: " << outcome.metrics_path << "\n";
    if (outcome.completed) {
      std::cout << "pooled model: " << outcome.pooled_path << " and " << outcome.torchscript_path
                << " (TorchScript)\n";
      return;
    }
    if (outcome.status == "running") {
      throw CommandFailed(3, "the coordinator was interrupted; start it again with the same "
                             "--config and --job to resume job " + outcome.job);
    }
    throw CommandFailed(1, "the job did not complete; see " + outcome.metrics_path);
  });
}

}  // namespace fedxray

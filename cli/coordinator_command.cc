#include <CLI/CLI.hpp>

#include <chrono>
#include <iostream>
#include <thread>

#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/exit_code.h"
#include "simulation/initial_model.h"
#include "cli/signal_stop.h"
#include "base/atomic_file.h"
#include "config/coordinator_config.h"
#include "config/job_config.h"
#include "ops/metrics_endpoint.h"
#include "wire/model_file.h"
#include "base/private_file.h"
#include "pki/revocation_list.h"
#include "pki/tls.h"
#include "coordinator/transport/admin_service.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/transport/coordinator_metrics.h"
#include "coordinator/transport/coordinator_service.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_queue.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/state_database.h"
#include "models/torchscript_model.h"

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
    CoordinatorConfig config = load_coordinator_config(*config_path);
    if (!listen->empty()) config.listen = *listen;
    auto state = std::make_shared<StateDatabase>(config.state_dir);
    auto audit = std::make_shared<AuditLog>(
        state->connection(),
        read_or_create_secret_key(config.audit_key, "audit head key", "coordinator.audit_key"));
    CoordinatorOptions options;
    options.state_dir = config.state_dir;
    options.allowed_sites = config.sites;
    options.heartbeat_timeout_s = config.heartbeat_timeout_s;
    options.ca_pem = read_file(config.ca_certificate);
    options.state = state;

    JobQueue queue(state, audit, [options](const JobConfig& job) {
      CheckpointStore journal_home(options.state_dir, job.name);
      return std::make_shared<JobRunner>(
          job, options, make_initial_model(job),
          make_job_strategy(job, journal_home.journal_dir()));
    });
    // Before any other thread starts (it blocks SIGINT/SIGTERM process-wide).
    stop_on_signal([&queue] { queue.shutdown("signal received"); });
    queue.on_job_finished([](JobRunner& runner, bool completed) {
      if (!completed) return;
      const std::string torchscript = runner.store().dir() + "/pooled.pt";
      export_torchscript(read_model_file(runner.store().pooled_path()), torchscript);
      spdlog::info("job={} pooled model: {} and {} (TorchScript)", runner.job().name,
                   runner.store().pooled_path(), torchscript);
    });

    std::string job_name;
    if (!job_path->empty()) {
      const std::string yaml = read_file(*job_path);
      const JobConfig job = parse_job_config(yaml, *job_path);  // errors name file, key, line
      job_name = job.name;
      if (auto row = state->job(job.name)) {
        if (row->config_yaml != yaml) {
          spdlog::warn("job={} is recorded in {} already; its recorded configuration is used, not "
                       "the changed {} (give a new job another job.name)",
                       job.name, state->path(), *job_path);
        }
        spdlog::info("job={} found in {} ({}, {} of {} rounds completed)", job.name, state->path(),
                     row->status, row->completed_rounds, row->rounds);
      } else {
        const std::string actor = "coordinator command line (--job)";
        queue.submit(yaml, *job_path, actor);
        audit->append(actor, "submit", "job " + job.name, "ok", "from " + *job_path);
      }
    }

    AdminServiceOptions admin_options;
    admin_options.state_dir = config.state_dir;
    admin_options.heartbeat_timeout_s = config.heartbeat_timeout_s;
    admin_options.export_torchscript = [](const std::string& fxm, const std::string& pt) {
      export_torchscript(read_model_file(fxm), pt);
    };
    AdminService admin(queue, state, audit, admin_options);
    // Every gate is in place before the port opens: no call is served unchecked or unrecorded.
    CoordinatorGates gates{state, audit, nullptr};
    if (!config.revocation_list.empty()) {
      gates.revocation = std::make_shared<RevocationWatcher>(config.revocation_list, options.ca_pem);
      admin.use_revocation_list(gates.revocation);
    } else {
      spdlog::warn("no revocation list (coordinator.revocation_list): a revoked certificate is "
                   "not refused; point it at kits/ca/crl.pem");
    }
    CoordinatorServer server(
        [&queue] { return queue.current(); }, config.listen,
        make_server_credentials({config.certificate, config.private_key, config.ca_certificate}),
        {&admin}, gates);
    std::unique_ptr<MetricsEndpoint> metrics;
    if (!config.metrics_listen.empty()) {
      metrics = std::make_unique<MetricsEndpoint>(
          config.metrics_listen, "coordinator.metrics_listen", [&, timeout = config.heartbeat_timeout_s] {
            return render_coordinator_metrics(*state, queue, server.service(), timeout);
          },
          MetricsSecurity{config.metrics_allow_remote,
                          config.metrics_tls ? config.certificate : std::string(),
                          config.private_key, config.ca_certificate});
    }
    if (job_name.empty() || *serve) {
      queue.run();  // until a signal
      server.shutdown();
      std::cout << "coordinator stopped; jobs left running resume when it starts again\n";
      return;
    }
    const bool ok = queue.run(job_name);
    std::shared_ptr<JobRunner> runner = queue.current();
    if (runner && runner->job().name == job_name && !runner->interrupted()) {
      const auto until = std::chrono::steady_clock::now() +
                         std::chrono::milliseconds(int64_t(*finish_grace * 1000));
      while (!runner->all_sites_told_finished() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    server.shutdown();
    const auto row = state->job(job_name);
    const CheckpointStore store(config.state_dir, job_name);
    std::cout << "job " << job_name << " " << row->status << ": " << row->message
              << "\nmetrics: " << store.metrics_path() << "\n";
    if (ok) {
      std::cout << "pooled model: " << store.pooled_path() << " and " << store.dir()
                << "/pooled.pt (TorchScript)\n";
      return;
    }
    if (row->status == "running") {
      throw CommandFailed(3, "the coordinator was interrupted; start it again with the same "
                             "--config and --job to resume job " + job_name);
    }
    throw CommandFailed(1, "the job did not complete; see " + store.metrics_path());
  });
}

}  // namespace fedxray

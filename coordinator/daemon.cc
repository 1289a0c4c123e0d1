#include "coordinator/daemon.h"

#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/private_file.h"
#include "coordinator/aggregation/strategy.h"
#include "coordinator/round/job_queue.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/enrollment_book.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/admin_service.h"
#include "coordinator/transport/coordinator_metrics.h"
#include "coordinator/transport/console_server.h"
#include "coordinator/transport/coordinator_service.h"
#include "coordinator/transport/enrollment_service.h"
#include "coordinator/transport/renewal_service.h"
#include "ops/metrics_endpoint.h"
#include "pki/certificate_authority.h"
#include "pki/revocation_list.h"
#include "pki/tls.h"

namespace fedxray {
namespace {

// Queues the --job unless it is recorded already (then it resumes); returns its name.
std::string queue_job_file(const std::string& path, JobQueue& queue, StateDatabase& state,
                           AuditLog& audit) {
  const std::string yaml = read_file(path);
  const JobConfig job = parse_job_config(yaml, path);  // errors name file, key, line
  if (auto row = state.job(job.name)) {
    if (row->config_yaml != yaml) {
      spdlog::warn("job={} is recorded in {} already; its recorded configuration is used, not "
                   "the changed {} (give a new job another job.name)",
                   job.name, state.path(), path);
    }
    spdlog::info("job={} found in {} ({}, {} of {} rounds completed)", job.name, state.path(),
                 row->status, row->completed_rounds, row->rounds);
  } else {
    const std::string actor = "coordinator command line (--job)";
    queue.submit(yaml, path, actor);
    audit.append(actor, "submit", "job " + job.name, "ok", "from " + path);
  }
  return job.name;
}

}  // namespace

DaemonOutcome run_coordinator_daemon(const DaemonSettings& settings) {
  const CoordinatorConfig& config = settings.config;
  auto state = std::make_shared<StateDatabase>(config.state_dir);
  const std::string audit_key =
      read_or_create_secret_key(config.audit_key, "audit head key", "coordinator.audit_key");
  if (audit_key.size() < 16) {
    throw Error(config.audit_key + ": the audit head key is shorter than 16 bytes; delete it to have "
                "a new one made (the audit log then no longer verifies against it) or "
                "restore it from backup");
  }
  auto audit = std::make_shared<AuditLog>(state->connection(), audit_key);
  auto enrollments = std::make_shared<EnrollmentBook>(state->connection());
  CoordinatorOptions options;
  options.state_dir = config.state_dir;
  options.allowed_sites = config.sites;
  options.enrollments = enrollments;
  options.heartbeat_timeout_s = config.heartbeat_timeout_s;
  options.state = state;
  // The consortium CA certificate: secure-aggregation jobs check the sites' signed keys with it.
  const std::string ca_pem = read_file(config.ca_certificate);

  JobQueue queue(state, audit, [options, ca_pem,
                                make_model = settings.initial_model](const JobConfig& job) {
    CheckpointStore journal_home(options.state_dir, job.name);
    return std::make_shared<JobRunner>(job, options, make_model(job),
                                       make_job_strategy(job, journal_home.journal_dir(), ca_pem));
  });
  if (settings.install_stop_handler) {
    settings.install_stop_handler([&queue] { queue.shutdown("signal received"); });
  }
  queue.on_job_finished([export_model = settings.export_torchscript](JobRunner& runner,
                                                                      bool completed) {
    if (!completed) return;
    const std::string torchscript = runner.store().dir() + "/pooled.pt";
    export_model(runner.store().pooled_path(), torchscript);
    spdlog::info("job={} pooled model: {} and {} (TorchScript)", runner.job().name,
                 runner.store().pooled_path(), torchscript);
  });

  DaemonOutcome outcome;
  if (!settings.job_path.empty()) {
    outcome.job = queue_job_file(settings.job_path, queue, *state, *audit);
  }

  AdminServiceOptions admin_options;
  admin_options.state_dir = config.state_dir;
  admin_options.heartbeat_timeout_s = config.heartbeat_timeout_s;
  admin_options.export_torchscript = settings.export_torchscript;
  auto desk = std::make_shared<EnrollmentDesk>();
  desk->book = enrollments;
  desk->ca_certificate_pem = ca_pem;
  desk->validity_days = config.enrollment_validity_days;
  desk->listen = config.enrollment_listen;
  desk->listed_sites = config.sites;
  if (!config.ca_private_key.empty()) {
    // The CA key on the coordinator: approving a request signs it here. Refused unless private.
    desk->ca = std::make_shared<const CertificateAuthority>(CertificateAuthority::load(
        ca_pem, read_private_credential(config.ca_private_key, "consortium CA key",
                                        "coordinator.ca_private_key")));
  }
  admin_options.enrollment = desk;
  AdminService admin(queue, state, audit, admin_options);
  RenewalService renewal(desk, audit);
  // Every gate is in place before the port opens: no call is served unchecked or unrecorded.
  CoordinatorGates gates{state, audit, nullptr};
  if (!config.revocation_list.empty()) {
    gates.revocation = std::make_shared<RevocationWatcher>(config.revocation_list, ca_pem);
    admin.use_revocation_list(gates.revocation);
    renewal.use_revocation_list(gates.revocation);
  } else {
    spdlog::warn("no revocation list (coordinator.revocation_list): a revoked certificate is "
                 "not refused; point it at kits/ca/crl.pem");
  }
  CoordinatorServer server(
      [&queue] { return queue.current(); }, config.listen,
      make_server_credentials({config.certificate, config.private_key, config.ca_certificate}),
      {&admin, &renewal}, gates);
  std::unique_ptr<EnrollmentServer> enrollment_server;
  if (!config.enrollment_listen.empty()) {
    enrollment_server = std::make_unique<EnrollmentServer>(
        config.enrollment_listen, config.certificate, config.private_key, enrollments, audit);
  }
  std::unique_ptr<ConsoleServer> console;
  if (!config.console_listen.empty()) {
    ConsoleOptions console_options;
    console_options.listen = config.console_listen;
    console_options.certificate = config.certificate;
    console_options.private_key = config.private_key;
    console_options.ca_certificate = config.ca_certificate;
    console_options.state_dir = config.state_dir;
    console_options.heartbeat_timeout_s = config.heartbeat_timeout_s;
    console_options.export_torchscript = settings.export_torchscript;
    console = std::make_unique<ConsoleServer>(console_options, queue, state, audit, desk,
                                              gates.revocation);
  }
  std::unique_ptr<MetricsEndpoint> metrics;
  if (!config.metrics_listen.empty()) {
    metrics = std::make_unique<MetricsEndpoint>(
        config.metrics_listen, "coordinator.metrics_listen",
        [&, timeout = config.heartbeat_timeout_s] {
          return render_coordinator_metrics(*state, queue, server.service(), timeout);
        },
        MetricsSecurity{config.metrics_allow_remote,
                        config.metrics_tls ? config.certificate : std::string(),
                        config.private_key, config.ca_certificate});
  }
  if (outcome.job.empty() || settings.serve) {
    queue.run();  // until the stop handler fires
    if (console) console->shutdown();
    if (enrollment_server) enrollment_server->shutdown();
    server.shutdown();
    outcome.job.clear();
    return outcome;
  }
  outcome.completed = queue.run(outcome.job);
  std::shared_ptr<JobRunner> runner = queue.current();
  if (runner && runner->job().name == outcome.job && !runner->interrupted()) {
    const auto until = std::chrono::steady_clock::now() +
                       std::chrono::milliseconds(int64_t(settings.finish_grace_s * 1000));
    while (!runner->all_sites_told_finished() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (console) console->shutdown();
  if (enrollment_server) enrollment_server->shutdown();
  server.shutdown();
  const auto row = state->job(outcome.job);
  const CheckpointStore store(config.state_dir, outcome.job);
  outcome.status = row ? row->status : "unknown";
  outcome.message = row ? row->message : "";
  outcome.metrics_path = store.metrics_path();
  outcome.pooled_path = store.pooled_path();
  outcome.torchscript_path = store.dir() + "/pooled.pt";
  return outcome;
}

}  // namespace fedxray

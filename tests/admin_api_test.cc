// The admin API against a live coordinator (JobQueue + gRPC with mutual TLS on 127.0.0.1) with
// real site agents: authorization, submit/queue/status/metrics/download/abort, and the audit log.
#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <thread>

#include <httplib.h>

#include "base/atomic_file.h"
#include "ops/metrics_endpoint.h"
#include "wire/model_file.h"
#include "pki/certificate_authority.h"
#include "pki/revocation_list.h"
#include "base/sha256.h"
#include "pki/tls.h"
#include "coordinator/transport/admin_service.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/transport/coordinator_metrics.h"
#include "coordinator/transport/coordinator_service.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_queue.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/sqlite_database.h"
#include "coordinator/store/state_database.h"
#include "fedxray/proto/admin.grpc.pb.h"
#include "site-agent/site_agent.h"
#include "tests/shift_trainer.h"
#include "tests/test_support.h"

using namespace fedxray;
using namespace std::chrono_literals;

namespace {

std::string job_yaml(const std::string& name, int rounds) {
  return "job:\n  name: " + name + "\n  model: test-model\n  classes: 2\n  image_size: 8\n"
         "  rounds: " + std::to_string(rounds) +
         "\n  sites_per_round: 2\n  min_sites: 2\n  round_deadline_s: 30\n";
}

// A coordinator serving the sites and the admin API, running queued jobs on a thread.
struct LiveCoordinator {
  LiveCoordinator() {
    state = std::make_shared<StateDatabase>(dir.path);
    audit = std::make_shared<AuditLog>(state->connection());
    CoordinatorOptions options;
    options.state_dir = dir.path;
    options.state = state;
    options.heartbeat_timeout_s = 20;
    queue = std::make_unique<JobQueue>(state, audit, [options](const JobConfig& job) {
      CheckpointStore store(options.state_dir, job.name);
      return std::make_shared<JobRunner>(job, options, testing::make_model({64, 1000}, 1),
                                         make_job_strategy(job, store.journal_dir()));
    });
    AdminServiceOptions admin_options;
    admin_options.state_dir = dir.path;
    // The torch-free test build has no TorchScript exporter; the model file itself stands in.
    admin_options.export_torchscript = [](const std::string& fxm, const std::string& pt) {
      write_file_atomically(pt, read_file(fxm));
    };
    admin = std::make_unique<AdminService>(*queue, state, audit, admin_options);
    server = std::make_unique<CoordinatorServer>([this] { return queue->current(); }, "127.0.0.1:0",
                                                 make_server_credentials(testing::kit("coordinator")),
                                                 std::vector<grpc::Service*>{admin.get()});
    server->service().use_state(state, audit);
    runner_thread = std::thread([this] { queue->run(); });
  }
  ~LiveCoordinator() {
    queue->shutdown("test over");
    runner_thread.join();
    server->shutdown();
  }
  std::string target() const { return "127.0.0.1:" + std::to_string(server->port()); }
  std::unique_ptr<admin::Admin::Stub> admin_stub(const std::string& who) const {
    return admin::Admin::NewStub(dial(target(), testing::kit(who)));
  }

  testing::TempDir dir;
  std::shared_ptr<StateDatabase> state;
  std::shared_ptr<AuditLog> audit;
  std::unique_ptr<JobQueue> queue;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<CoordinatorServer> server;
  std::thread runner_thread;
};

// A real site agent (ShiftTrainer) that keeps serving jobs until destroyed.
struct LiveSite {
  LiveSite(const LiveCoordinator& c, const std::string& name)
      : trainer(0.01f, 1, 100),
        agent(dial(c.target(), testing::kit(name)), [&] {
          SiteAgentOptions o;
          o.site_name = name;
          o.serve_after_job = true;
          return o;
        }(), trainer),
        thread([this] {
          try {
            agent.run();
          } catch (const std::exception&) {
          }
        }) {}
  ~LiveSite() {
    agent.stop();
    thread.join();
  }
  testing::ShiftTrainer trainer;
  SiteAgent agent;
  std::thread thread;
};

template <typename Reply, typename Call>
grpc::Status call(Call&& fn, Reply& reply) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 20s);
  return fn(&context, &reply);
}

std::string wait_for_status(admin::Admin::Stub& stub, const std::string& job,
                            const std::set<std::string>& wanted) {
  for (int i = 0; i < 300; ++i) {
    admin::JobRequest request;
    request.set_job(job);
    admin::JobStatusReply reply;
    grpc::ClientContext context;
    if (stub.JobStatus(&context, request, &reply).ok() && wanted.count(reply.job().status())) {
      return reply.job().status();
    }
    std::this_thread::sleep_for(100ms);
  }
  return "timeout";
}

}  // namespace

TEST_CASE("only admin certificates may call the admin API, refusals are audited", "[admin]") {
  LiveCoordinator c;
  admin::ListJobsReply jobs;
  auto as_site = c.admin_stub("site-a");
  grpc::Status s = call([&](auto* ctx, auto* r) { return as_site->ListJobs(ctx, {}, r); }, jobs);
  CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(s.error_message(), Catch::Contains("OU=admin"));
  auto as_admin = c.admin_stub("alice");
  REQUIRE(call([&](auto* ctx, auto* r) { return as_admin->ListJobs(ctx, {}, r); }, jobs).ok());
  const auto records = c.audit->records();
  REQUIRE(records.size() == 2);
  CHECK(records[0].actor == "CN=site-a,OU=site");
  CHECK(records[0].outcome == "refused");
  CHECK(records[1].actor == "CN=alice,OU=admin");
  CHECK(records[1].outcome == "ok");
  CHECK(c.audit->verify().intact);
}

TEST_CASE("a revoked admin is refused from its next call on", "[admin][revocation]") {
  LiveCoordinator c;
  const std::string ca = testing::kits_dir() + "/ca/";
  const std::string crl = c.dir.path + "/crl.pem";
  auto watcher = std::make_shared<RevocationWatcher>(crl, read_file(ca + "ca.crt"));
  c.admin->use_revocation_list(watcher);
  auto alice = c.admin_stub("alice");
  admin::ListJobsReply jobs;
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->ListJobs(ctx, {}, r); }, jobs).ok());
  write_file_atomically(crl, add_to_revocation_list(read_file(ca + "ca.crt"), read_file(ca + "ca.key"),
                                                    "", read_file(testing::kit("alice").certificate)));
  std::this_thread::sleep_for(1100ms);  // the watcher re-reads at most once a second
  grpc::Status s = call([&](auto* ctx, auto* r) { return alice->ListJobs(ctx, {}, r); }, jobs);
  CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(s.error_message(), Catch::Contains("alice") && Catch::Contains("revoked"));
}

TEST_CASE("submit validates, queues behind the running job, status, metrics, download, abort",
          "[admin]") {
  LiveCoordinator c;
  auto alice = c.admin_stub("alice");

  admin::SubmitJobRequest bad;
  bad.set_yaml("job:\n  name: broken\n  model: test-model\n  classes: 2\n  image_size: 8\n"
               "  rounds: 0\n");
  bad.set_source("broken.yaml");
  admin::SubmitJobReply submitted;
  grpc::Status s = call([&](auto* ctx, auto* r) { return alice->SubmitJob(ctx, bad, r); }, submitted);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), Catch::Contains("broken.yaml:6") && Catch::Contains("job.rounds"));

  admin::SubmitJobRequest first;
  first.set_yaml(job_yaml("first", 3));
  first.set_source("first.yaml");
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->SubmitJob(ctx, first, r); }, submitted).ok());
  CHECK(submitted.job() == "first");
  admin::SubmitJobRequest second;
  second.set_yaml(job_yaml("second", 1000));
  second.set_source("second.yaml");
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->SubmitJob(ctx, second, r); }, submitted).ok());
  CHECK(submitted.queued_behind() == 1);
  s = call([&](auto* ctx, auto* r) { return alice->SubmitJob(ctx, first, r); }, submitted);
  CHECK_THAT(s.error_message(), Catch::Contains("submitted before"));

  LiveSite a(c, "site-a"), b(c, "site-b");
  REQUIRE(wait_for_status(*alice, "first", {"completed", "failed"}) == "completed");

  admin::JobRequest first_job;
  first_job.set_job("first");
  admin::JobStatusReply status;
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->JobStatus(ctx, first_job, r); }, status).ok());
  CHECK(status.job().completed_rounds() == 3);
  REQUIRE(status.rounds_size() == 3);
  CHECK(status.rounds(2).reported() == 2);
  REQUIRE(status.sites_size() == 2);
  CHECK(status.sites(0).state() == "uploaded");

  admin::MetricsReply metrics;
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->Metrics(ctx, first_job, r); }, metrics).ok());
  REQUIRE(metrics.round_records_json_size() == 3);
  const auto last = nlohmann::json::parse(metrics.round_records_json(2));
  CHECK(last["sites"].size() == 2);
  CHECK(last["previous_model_sha256"] ==
        nlohmann::json::parse(metrics.round_records_json(1))["model_sha256"]);

  // The second job runs once the first is done; abort it mid-way.
  REQUIRE(wait_for_status(*alice, "second", {"running"}) == "running");
  std::this_thread::sleep_for(300ms);
  admin::JobRequest second_job;
  second_job.set_job("second");
  admin::JobStatusReply live;
  for (int i = 0; i < 100 && live.sites_size() != 2; ++i) {  // until the sites are in a round
    std::this_thread::sleep_for(100ms);
    REQUIRE(call([&](auto* ctx, auto* r) { return alice->JobStatus(ctx, second_job, r); }, live).ok());
  }
  CHECK(live.current_round() >= 1);
  CHECK(live.sites_size() == 2);
  admin::AbortJobReply aborted;
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->AbortJob(ctx, second_job, r); }, aborted).ok());
  CHECK(wait_for_status(*alice, "second", {"aborted", "completed", "failed"}) == "aborted");
  s = call([&](auto* ctx, auto* r) { return alice->AbortJob(ctx, second_job, r); }, aborted);
  CHECK_THAT(s.error_message(), Catch::Contains("already ended"));

  // Download: the pooled (last completed) model, streamed with its SHA-256.
  admin::DownloadModelRequest download;
  download.set_job("first");
  grpc::ClientContext context;
  auto reader = alice->DownloadModel(&context, download);
  admin::FileChunk chunk;
  std::string bytes, announced;
  uint32_t round = 0;
  while (reader->Read(&chunk)) {
    bytes += chunk.data();
    if (chunk.round()) round = chunk.round();
    if (!chunk.sha256().empty()) announced = chunk.sha256();
  }
  REQUIRE(reader->Finish().ok());
  CHECK(round == 3);
  CHECK(bytes == read_file(CheckpointStore(c.dir.path, "first").model_path(3)));
  CHECK(announced == Sha256::of(bytes.data(), bytes.size()));
  admin::DownloadModelRequest missing;
  missing.set_job("first");
  missing.set_round(7);
  grpc::ClientContext context2;
  auto refused = alice->DownloadModel(&context2, missing);
  while (refused->Read(&chunk)) {
  }
  CHECK(refused->Finish().error_code() == grpc::StatusCode::NOT_FOUND);

  // The audit log has the admin's actions and the sites' uploads, and verifies.
  admin::AuditRequest audit_request;
  audit_request.set_verify(true);
  admin::AuditReply audit;
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->Audit(ctx, audit_request, r); }, audit).ok());
  CHECK(audit.intact());
  int uploads = 0, submits = 0, aborts = 0;
  for (const auto& r : audit.records()) {
    uploads += r.action() == "upload" && r.outcome() == "ok";
    submits += r.action() == "submit" && r.actor() == "CN=alice,OU=admin";
    aborts += r.action() == "abort" && r.outcome() == "ok";
  }
  CHECK(uploads >= 6);
  CHECK(submits == 4);  // broken, first, second, first again
  CHECK(aborts == 1);

  // Editing a record is caught by the next verification.
  c.state->connection()->exec("UPDATE audit SET outcome = 'ok' WHERE action = 'submit' AND "
                              "outcome = 'refused'");
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->Audit(ctx, audit_request, r); }, audit).ok());
  CHECK_FALSE(audit.intact());
  CHECK_THAT(audit.problem(), Catch::Contains("edited"));
}

TEST_CASE("the coordinator's Prometheus endpoint reports rounds, sites and bytes", "[admin][metrics]") {
  LiveCoordinator c;
  MetricsEndpoint endpoint("127.0.0.1:0", "coordinator.metrics_listen", [&] {
    return render_coordinator_metrics(*c.state, *c.queue, c.server->service(), 20);
  });
  REQUIRE(endpoint.port() > 0);
  c.queue->submit(job_yaml("watched", 2), "watched.yaml", "test");
  {
    LiveSite a(c, "site-a"), b(c, "site-b");
    auto alice = c.admin_stub("alice");
    REQUIRE(wait_for_status(*alice, "watched", {"completed", "failed"}) == "completed");
  }
  httplib::Client client("127.0.0.1", endpoint.port());
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  auto res = client.Get("/metrics");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_THAT(res->get_header_value("Content-Type"), Catch::Contains("text/plain"));
  const std::string& text = res->body;
  CHECK_THAT(text, Catch::Contains("# TYPE fedxray_rounds_total counter"));
  CHECK_THAT(text, Catch::Contains("fedxray_rounds_total{status=\"completed\"} 2\n"));
  CHECK_THAT(text, Catch::Contains("fedxray_jobs{status=\"completed\"} 1\n"));
  CHECK_THAT(text, Catch::Contains("fedxray_site_rounds_total{state=\"uploaded\"} 4\n"));
  CHECK_THAT(text, Catch::Contains("fedxray_sites_known 2\n"));
  CHECK_THAT(text, Catch::Contains("fedxray_update_bytes_received_total"));
  CHECK(text.find("fedxray_update_bytes_received_total 0\n") == std::string::npos);
}

TEST_CASE("a metrics port that cannot be bound names the config key") {
  MetricsEndpoint first("127.0.0.1:0", "coordinator.metrics_listen", [] { return std::string(); });
  CHECK_THROWS_WITH(MetricsEndpoint("127.0.0.1:" + std::to_string(first.port()),
                                    "coordinator.metrics_listen", [] { return std::string(); }),
                    Catch::Contains("coordinator.metrics_listen"));
  CHECK_THROWS_WITH(MetricsEndpoint("no-port", "site.metrics_listen", [] { return std::string(); }),
                    Catch::Contains("site.metrics_listen must be address:port"));
}

TEST_CASE("a metrics port that does not parse or is not loopback is refused, naming the key",
          "[metrics]") {
  auto render = [] { return std::string(); };
  CHECK_THROWS_WITH(MetricsEndpoint("127.0.0.1:http", "site.metrics_listen", render),
                    Catch::Contains("site.metrics_listen") && Catch::Contains("not a number"));
  CHECK_THROWS_WITH(MetricsEndpoint("127.0.0.1:70000", "site.metrics_listen", render),
                    Catch::Contains("0 to 65535"));
  CHECK_THROWS_WITH(MetricsEndpoint("0.0.0.0:0", "coordinator.metrics_listen", render),
                    Catch::Contains("not a loopback address") &&
                        Catch::Contains("metrics_allow_remote"));
  MetricsSecurity remote;
  remote.allow_remote = true;
  CHECK(MetricsEndpoint("0.0.0.0:0", "coordinator.metrics_listen", render, remote).port() > 0);
  CHECK(MetricsEndpoint("[::1]:0", "coordinator.metrics_listen", render).port() > 0);
}

TEST_CASE("metrics print counters as integers", "[metrics]") {
  std::string out;
  append_metric(out, "fedxray_bytes_total", "counter", "Bytes",
                {{"", 1234567890.0}, {"kind=\"big\"", 9007199254740.0}, {"kind=\"half\"", 0.5}});
  CHECK_THAT(out, Catch::Contains("fedxray_bytes_total 1234567890\n"));
  CHECK_THAT(out, Catch::Contains("fedxray_bytes_total{kind=\"big\"} 9007199254740\n"));
  CHECK_THAT(out, Catch::Contains("fedxray_bytes_total{kind=\"half\"} 0.5\n"));
}

TEST_CASE("metrics over TLS answer only clients with a consortium certificate", "[metrics][tls]") {
  const TlsFiles coordinator = testing::kit("coordinator");
  MetricsSecurity tls;
  tls.certificate = coordinator.certificate;
  tls.private_key = coordinator.private_key;
  tls.client_ca = coordinator.ca_certificate;
  MetricsEndpoint endpoint("127.0.0.1:0", "coordinator.metrics_listen",
                           [] { return std::string("fedxray_up 1\n"); }, tls);
  const TlsFiles alice = testing::kit("alice");
  httplib::SSLClient with_cert("127.0.0.1", endpoint.port(), alice.certificate, alice.private_key);
  with_cert.set_ca_cert_path(coordinator.ca_certificate.c_str());
  with_cert.enable_server_certificate_verification(true);
  auto ok = with_cert.Get("/metrics");
  REQUIRE(ok);
  CHECK(ok->body == "fedxray_up 1\n");
  httplib::SSLClient without_cert("127.0.0.1", endpoint.port());
  without_cert.enable_server_certificate_verification(false);
  CHECK_FALSE(without_cert.Get("/metrics"));
  httplib::Client plain("127.0.0.1", endpoint.port());
  auto refused = plain.Get("/metrics");
  CHECK((!refused || refused->status != 200));
}

TEST_CASE("a researcher certificate reads jobs, status and metrics and downloads the pooled model, "
          "but cannot submit, abort, list sites or read the audit log",
          "[admin][researcher]") {
  LiveCoordinator c;
  auto alice = c.admin_stub("alice");
  auto rita = c.admin_stub("rita");  // OU=researcher
  admin::SubmitJobRequest job;
  job.set_yaml(job_yaml("study", 1));
  job.set_source("study.yaml");
  admin::SubmitJobReply submitted;
  REQUIRE(call([&](auto* ctx, auto* r) { return alice->SubmitJob(ctx, job, r); }, submitted).ok());
  {
    LiveSite a(c, "site-a"), b(c, "site-b");
    REQUIRE(wait_for_status(*alice, "study", {"completed", "failed"}) == "completed");
  }

  admin::ListJobsReply jobs;
  REQUIRE(call([&](auto* ctx, auto* r) { return rita->ListJobs(ctx, {}, r); }, jobs).ok());
  CHECK(jobs.jobs_size() == 1);
  admin::JobRequest study;
  study.set_job("study");
  admin::JobStatusReply status;
  REQUIRE(call([&](auto* ctx, auto* r) { return rita->JobStatus(ctx, study, r); }, status).ok());
  CHECK(status.job().status() == "completed");
  admin::MetricsReply metrics;
  REQUIRE(call([&](auto* ctx, auto* r) { return rita->Metrics(ctx, study, r); }, metrics).ok());
  CHECK(metrics.round_records_json_size() == 1);
  admin::DownloadModelRequest download;
  download.set_job("study");
  grpc::ClientContext context;
  auto reader = rita->DownloadModel(&context, download);
  admin::FileChunk chunk;
  std::string bytes;
  while (reader->Read(&chunk)) bytes += chunk.data();
  REQUIRE(reader->Finish().ok());
  CHECK(bytes == read_file(CheckpointStore(c.dir.path, "study").model_path(1)));

  auto refused = [](const grpc::Status& s) {
    CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
    CHECK_THAT(s.error_message(), Catch::Contains("needs an admin certificate (OU=admin)"));
  };
  job.set_yaml(job_yaml("another", 1));
  refused(call([&](auto* ctx, auto* r) { return rita->SubmitJob(ctx, job, r); }, submitted));
  admin::AbortJobReply aborted;
  refused(call([&](auto* ctx, auto* r) { return rita->AbortJob(ctx, study, r); }, aborted));
  admin::ListSitesReply sites;
  refused(call([&](auto* ctx, auto* r) { return rita->ListSites(ctx, {}, r); }, sites));
  admin::AuditReply audit;
  refused(call([&](auto* ctx, auto* r) { return rita->Audit(ctx, {}, r); }, audit));
  CHECK_FALSE(c.state->job("another"));

  // Every call the researcher made is in the audit log under its own subject.
  int ok = 0, denied = 0;
  for (const auto& r : c.audit->records()) {
    if (r.actor != "CN=rita,OU=researcher") continue;
    ok += r.outcome == "ok";
    denied += r.outcome == "refused";
  }
  CHECK(ok == 4);
  CHECK(denied == 4);
  CHECK(c.audit->verify().intact);
}

TEST_CASE("admin sites and the metrics show each site's certificate expiry and flag the ones to "
          "renew within 30 days",
          "[admin][certificates]") {
  LiveCoordinator c;
  // site-c holds a certificate from the consortium's CA that is valid for 10 more days.
  const std::string ca_dir = testing::kits_dir() + "/ca/";
  const CertificateAuthority ca =
      CertificateAuthority::load(read_file(ca_dir + "ca.crt"), read_file(ca_dir + "ca.key"));
  const std::string key = generate_private_key_pem();
  const TlsFiles short_lived{c.dir.path + "/site-c.crt", c.dir.path + "/site-c.key", ca_dir + "ca.crt"};
  write_file_atomically(short_lived.private_key, key, 0600);
  write_file_atomically(short_lived.certificate, ca.issue(key, {"site-c", "site", {}, false, 10}));
  testing::ShiftTrainer trainer(0.01f, 1, 100);
  SiteAgentOptions options;
  options.site_name = "site-c";
  options.serve_after_job = true;
  SiteAgent site_c(dial(c.target(), short_lived), options, trainer);
  std::thread site_c_thread([&] {
    try {
      site_c.run();
    } catch (const std::exception&) {
    }
  });
  LiveSite a(c, "site-a");
  auto alice = c.admin_stub("alice");
  admin::ListSitesReply sites;
  for (int i = 0; i < 100 && sites.sites_size() < 2; ++i) {
    std::this_thread::sleep_for(100ms);
    sites.Clear();
    REQUIRE(call([&](auto* ctx, auto* r) { return alice->ListSites(ctx, {}, r); }, sites).ok());
  }
  site_c.stop();
  site_c_thread.join();
  REQUIRE(sites.sites_size() == 2);
  for (const auto& s : sites.sites()) {
    INFO(s.name());
    CHECK(s.certificate_not_after() > 0);
    if (s.name() == "site-a") {  // the test kit's 825 days
      CHECK(s.certificate_days_left() >= 800);
      CHECK_FALSE(s.certificate_renewal_due());
    } else {
      CHECK(s.certificate_days_left() >= 9);
      CHECK(s.certificate_days_left() <= 10);
      CHECK(s.certificate_renewal_due());
    }
  }
  const std::string metrics = render_coordinator_metrics(*c.state, *c.queue, c.server->service(), 20);
  CHECK_THAT(metrics, Catch::Contains("# TYPE fedxray_site_certificate_expiry_seconds gauge"));
  const std::string sample = "fedxray_site_certificate_expiry_seconds{site=\"site-c\"} ";
  const std::size_t at = metrics.find(sample);
  REQUIRE(at != std::string::npos);
  const double seconds = std::stod(metrics.substr(at + sample.size()));
  CHECK(seconds > 9 * 86400.0);
  CHECK(seconds <= 10 * 86400.0);
}

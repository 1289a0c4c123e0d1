// `fedxray admin`: a consortium admin's commands against a running coordinator, over the admin
// API (proto/admin.proto) with the admin's certificate. Tables for people, --json for scripts.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/sha256.h"
#include "base/version.h"
#include "cli/admin_client.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "cli/text_table.h"
#include "config/admin_config.h"
#include "config/http_proxy.h"
#include "fedxray/proto/admin.grpc.pb.h"
#include "ops/job_report.h"
#include "pki/tls.h"

namespace fedxray {
namespace {

std::string fixed(double v, int digits = 3) {
  if (std::isnan(v)) return "-";
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

std::string duration(double seconds) {
  if (seconds < 0) return "unknown";
  if (seconds < 10) return fixed(seconds, 1) + " s";
  const long s = long(std::lround(seconds));
  std::ostringstream out;
  if (s >= 3600) out << s / 3600 << " h ";
  if (s >= 60) out << (s % 3600) / 60 << " min ";
  out << s % 60 << " s";
  return out.str();
}

double number(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : std::nan("");
}

void add_submit_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* submit = cmd.add_subcommand("submit", "Validate and queue a job file");
  auto job_file = std::make_shared<std::string>();
  submit->add_option("job", *job_file, "job YAML")->required()->check(CLI::ExistingFile);
  submit->callback([=] {
    admin::SubmitJobRequest request;
    request.set_yaml(read_file(*job_file));
    request.set_source(*job_file);
    const auto reply = ask(*flags, &admin::Admin::Stub::SubmitJob, request, "submit refused");
    if (flags->json) return print_json(reply);
    std::cout << "job " << reply.job() << " queued"
              << (reply.queued_behind() ? " behind " + std::to_string(reply.queued_behind()) +
                                              " other job(s)"
                                        : "")
              << "\n";
  });
}

void add_jobs_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  cmd.add_subcommand("jobs", "List jobs, oldest first")->callback([=] {
    const auto reply =
        ask(*flags, &admin::Admin::Stub::ListJobs, admin::ListJobsRequest(), "jobs");
    if (flags->json) return print_json(reply);
    TextTable t({"JOB", "STATUS", "ROUNDS", "SUBMITTED", "BY", "MESSAGE"});
    for (const auto& j : reply.jobs()) {
      t.add({j.name(), j.status(),
             std::to_string(j.completed_rounds()) + "/" + std::to_string(j.rounds()),
             j.submitted_at(), j.submitted_by(), j.message()});
    }
    t.print(std::cout);
  });
}

void add_status_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* status = cmd.add_subcommand("status", "One job: current round, each site's state, "
                                               "time per round, time left");
  auto status_job = std::make_shared<std::string>();
  status->add_option("job", *status_job, "job name")->required();
  status->callback([=] {
    admin::JobRequest request;
    request.set_job(*status_job);
    const auto reply = ask(*flags, &admin::Admin::Stub::JobStatus, request, "status");
    if (flags->json) return print_json(reply);
    const auto& j = reply.job();
    std::cout << "job " << j.name() << ": " << j.status()
              << (j.message().empty() ? "" : " (" + j.message() + ")") << "\n"
              << "rounds completed: " << j.completed_rounds() << " of " << j.rounds() << "\n";
    if (reply.current_round()) std::cout << "current round: " << reply.current_round() << "\n";
    std::cout << "time per round: " << duration(reply.seconds_per_round())
              << "; estimated time left: " << duration(reply.estimated_seconds_left()) << "\n\n";
    TextTable sites({"SITE", "STATE", "REASON"});
    for (const auto& s : reply.sites()) sites.add({s.site(), s.state(), s.reason()});
    sites.print(std::cout);
    std::cout << "\n";
    TextTable rounds({"ROUND", "STATUS", "REPORTED", "SECONDS", "MODEL SHA-256", "REASON"});
    for (const auto& r : reply.rounds()) {
      rounds.add({std::to_string(r.round()), r.status(),
                  std::to_string(r.reported()) + "/" + std::to_string(r.selected()),
                  fixed(r.seconds(), 2), r.model_sha256().substr(0, 16), r.reason()});
    }
    rounds.print(std::cout);
  });
}

void add_abort_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* abort = cmd.add_subcommand("abort", "Stop a job cleanly (recorded; the last good model "
                                             "is kept)");
  auto abort_job = std::make_shared<std::string>();
  abort->add_option("job", *abort_job, "job name")->required();
  abort->callback([=] {
    admin::JobRequest request;
    request.set_job(*abort_job);
    const auto reply = ask(*flags, &admin::Admin::Stub::AbortJob, request, "abort refused");
    if (flags->json) return print_json(reply);
    std::cout << reply.message() << "\n";
  });
}

void add_sites_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  cmd.add_subcommand("sites", "Sites: connected or not, last seen, software version")
      ->callback([=] {
        const auto reply =
            ask(*flags, &admin::Admin::Stub::ListSites, admin::ListSitesRequest(), "sites");
        if (flags->json) return print_json(reply);
        TextTable t({"SITE", "CONNECTED", "LAST SEEN", "FIRST SEEN", "VERSION", "CERTIFICATE",
                     "EXPIRES"});
        std::vector<std::string> due, expired;
        for (const auto& s : reply.sites()) {
          std::string expires = "unknown";
          if (s.certificate_not_after()) {
            expires = "in " + std::to_string(s.certificate_days_left()) + " days";
            if (s.certificate_days_left() < 0) {
              expires = "EXPIRED";
              expired.push_back(s.name());
            } else if (s.certificate_renewal_due()) {
              expires += " (renew)";
              due.push_back(s.name());
            }
          }
          t.add({s.name(), s.connected() ? "yes" : "no", s.last_seen(), s.first_seen(),
                 s.version(), s.certificate_sha256().substr(0, 16), expires});
        }
        t.print(std::cout);
        for (const auto& name : due) {
          std::cerr << "warning: site " << name << "'s certificate expires within 30 days; "
                    << "issue it a new one\n";
        }
        for (const auto& name : expired) {
          std::cerr << "warning: site " << name << "'s certificate has expired; it cannot take "
                    << "part until it is issued a new one\n";
        }
      });
}

void add_download_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* download = cmd.add_subcommand("download", "Download a job's model as TorchScript");
  auto download_job = std::make_shared<std::string>();
  auto download_round = std::make_shared<int>(0);
  auto download_out = std::make_shared<std::string>();
  download->add_option("job", *download_job, "job name")->required();
  download->add_option("--round", *download_round,
                       "a completed round (default: the pooled model, or the latest round)");
  download->add_option("--out", *download_out, "where to write the .pt file")->required();
  download->callback([=] {
    admin::DownloadModelRequest request;
    request.set_job(*download_job);
    request.set_round(*download_round);
    grpc::ClientContext context;
    deadline(context, 600);
    auto reader = connect(*flags)->DownloadModel(&context, request);
    AtomicFileWriter out(*download_out);
    Sha256 hash;
    admin::FileChunk chunk;
    uint64_t total = 0, received = 0;
    uint32_t round = 0;
    std::string announced;
    while (reader->Read(&chunk)) {
      if (chunk.total_bytes()) total = chunk.total_bytes();
      if (chunk.round()) round = chunk.round();
      out.write(chunk.data().data(), chunk.data().size());
      hash.update(chunk.data().data(), chunk.data().size());
      received += chunk.data().size();
      if (!chunk.sha256().empty()) announced = chunk.sha256();
    }
    check(reader->Finish(), "download refused");
    const std::string digest = hash.hex_digest();
    if (received != total || digest != announced) {
      throw CommandFailed(1, "the download was damaged (" + std::to_string(received) + " of " +
                                 std::to_string(total) + " bytes, SHA-256 " + digest +
                                 " vs announced " + announced + "); nothing was written");
    }
    out.commit();
    if (flags->json) {
      std::cout << nlohmann::json{{"job", *download_job}, {"round", round}, {"path", *download_out},
                                  {"bytes", received}, {"sha256", digest}}
                       .dump(2)
                << "\n";
      return;
    }
    std::cout << "job " << *download_job << " round " << round << " model (TorchScript, "
              << received << " bytes, sha256 " << digest << ") written to " << *download_out
              << "\n";
  });
}

void add_metrics_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* metrics = cmd.add_subcommand("metrics", "Per-round, per-site metrics of a job");
  auto metrics_job = std::make_shared<std::string>();
  auto csv = std::make_shared<bool>(false);
  metrics->add_option("job", *metrics_job, "job name")->required();
  metrics->add_flag("--csv", *csv, "print CSV");
  metrics->callback([=] {
    admin::JobRequest request;
    request.set_job(*metrics_job);
    const auto reply = ask(*flags, &admin::Admin::Stub::Metrics, request, "metrics");
    nlohmann::json records = nlohmann::json::array();
    for (const auto& r : reply.round_records_json()) records.push_back(nlohmann::json::parse(r));
    if (flags->json) {
      std::cout << records.dump(2) << "\n";
      return;
    }
    // Ordinal jobs' sites also report the quadratic-weighted kappa: one more column.
    bool kappa = false;
    for (const auto& r : records) {
      for (const auto& s : r.value("sites", nlohmann::json::array())) {
        kappa = kappa || s.value("metrics", nlohmann::json::object()).contains("held_out_kappa");
      }
    }
    std::vector<std::string> header = {"round", "status", "site", "site_status", "samples",
                                       "train_loss", "held_out_accuracy",
                                       "held_out_balanced_accuracy", "held_out_auc"};
    if (kappa) header.push_back("held_out_kappa");
    header.push_back("reason");
    TextTable t(header);
    for (const auto& r : records) {
      const std::string round = std::to_string(r.value("round", 0));
      const std::string st = r.value("status", std::string());
      if (!r.contains("sites") || r["sites"].empty()) {
        std::vector<std::string> row(header.size());
        row[0] = round, row[1] = st, row.back() = r.value("reason", std::string());
        t.add(row);
      }
      for (const auto& s : r.value("sites", nlohmann::json::array())) {
        const nlohmann::json m = s.value("metrics", nlohmann::json::object());
        std::vector<std::string> row = {
            round, st, s.value("site", std::string()), s.value("state", std::string()),
            s.contains("samples") ? std::to_string(s["samples"].get<uint64_t>()) : "",
            fixed(number(m, "train_loss"), 4), fixed(number(m, "held_out_accuracy")),
            fixed(number(m, "held_out_balanced_accuracy")), fixed(number(m, "held_out_auc"))};
        if (kappa) row.push_back(fixed(number(m, "held_out_kappa")));
        row.push_back(s.value("reason", std::string()));
        t.add(row);
      }
    }
    if (*csv) {
      t.print_csv(std::cout);
    } else {
      t.print(std::cout);
    }
  });
}

void add_report_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* report = cmd.add_subcommand(
      "report", "Write a job's report: one self-contained HTML file (configuration, per-site "
                "table, learning curves, privacy spent, model hashes, version)");
  auto report_job = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  report->add_option("job", *report_job, "job name")->required();
  report->add_option("--out", *out, "the HTML file to write")->required();
  report->callback([=] {
    admin::JobRequest request;
    request.set_job(*report_job);
    const auto status = ask(*flags, &admin::Admin::Stub::JobStatus, request, "status");
    const auto metrics = ask(*flags, &admin::Admin::Stub::Metrics, request, "metrics");
    std::vector<nlohmann::json> rounds;
    for (const auto& r : metrics.round_records_json()) rounds.push_back(nlohmann::json::parse(r));
    const admin::Job& j = status.job();
    const nlohmann::json job = {{"name", j.name()},
                                {"status", j.status()},
                                {"submitted_by", j.submitted_by()},
                                {"submitted_at", j.submitted_at()},
                                {"finished_at", j.finished_at()},
                                {"config_yaml", j.config_yaml()}};
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    char when[32];
    std::strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
    write_file_atomically(*out, render_job_report(job, rounds, kVersion, when));
    std::cout << "report of job " << j.name() << " (" << rounds.size() << " rounds) written to "
              << *out << "\n";
  });
}

void add_audit_subcommand(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags) {
  auto* audit = cmd.add_subcommand("audit", "Read the audit log; --verify checks its hash chain");
  auto verify = std::make_shared<bool>(false);
  auto limit = std::make_shared<unsigned>(50);
  audit->add_flag("--verify", *verify, "recompute the hash chain; exit 1 if a record was edited "
                                       "or deleted");
  audit->add_option("--limit", *limit, "newest N records (0: all)");
  audit->callback([=] {
    admin::AuditRequest request;
    request.set_limit(*limit);
    request.set_verify(*verify);
    const auto reply = ask(*flags, &admin::Admin::Stub::Audit, request, "audit");
    if (flags->json) {
      print_json(reply);
    } else {
      TextTable t({"SEQ", "AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"});
      for (const auto& r : reply.records()) {
        t.add({std::to_string(r.seq()), r.at(), r.actor(), r.action(), r.target(), r.outcome(),
               r.detail().substr(0, 80)});
      }
      t.print(std::cout);
      if (reply.verified()) {
        std::cout << "\n"
                  << (reply.intact() ? "audit log intact: " + std::to_string(reply.count()) +
                                           " records, hash chain verified"
                                     : "AUDIT LOG TAMPERED: " + reply.problem())
                  << "\n";
      }
    }
    if (reply.verified() && !reply.intact()) {
      throw CommandFailed(1, "the audit log failed verification: " + reply.problem());
    }
  });
}

}  // namespace

void add_admin_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("admin", "Consortium admin: submit, watch, abort and download "
                                          "jobs; list sites; read and verify the audit log; enrol sites");
  cmd->require_subcommand(1);
  auto flags = std::make_shared<AdminFlags>();
  cmd->add_option("--kit", flags->kit, "the admin's startup kit folder (holds admin.yaml)")
      ->required();
  cmd->add_option("--coordinator", flags->coordinator, "override admin.coordinator (host:port)");
  cmd->add_flag("--json", flags->json, "print JSON instead of tables");

  add_submit_subcommand(*cmd, flags);
  add_jobs_subcommand(*cmd, flags);
  add_status_subcommand(*cmd, flags);
  add_abort_subcommand(*cmd, flags);
  add_sites_subcommand(*cmd, flags);
  add_download_subcommand(*cmd, flags);
  add_metrics_subcommand(*cmd, flags);
  add_report_subcommand(*cmd, flags);
  add_audit_subcommand(*cmd, flags);
  add_enrollment_subcommands(*cmd, flags);
}

}  // namespace fedxray

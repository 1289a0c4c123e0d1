#include "coordinator/transport/admin_service.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "base/sha256.h"
#include "coordinator/round/job_queue.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/admin_views.h"
#include "coordinator/transport/enrollment_service.h"
#include "config/participant_name.h"
#include "pki/tls.h"

namespace fedxray {
namespace {

// Thrown inside a handler to answer with this status.
struct StatusError {
  grpc::StatusCode code;
  std::string message;
};

// What a researcher certificate may do: read, never change.
const std::string kResearcherActions[] = {"jobs", "status", "metrics", "download"};

JobRow require_job(StateDatabase& state, const std::string& name) {
  auto row = state.job(name);
  if (!row) {
    throw StatusError{grpc::StatusCode::NOT_FOUND,
                      "no job named '" + name + "'; `fedxray admin jobs` lists them"};
  }
  return *row;
}

admin::Enrollment to_wire(const EnrollmentRow& r) {
  admin::Enrollment w;
  w.set_name(r.name);
  w.set_status(r.status);
  w.set_csr_sha256(r.csr_sha256);
  w.set_requested_at(r.requested_at);
  w.set_decided_by(r.decided_by);
  w.set_decided_at(r.decided_at);
  w.set_reason(r.reason);
  if (!r.certificate_pem.empty()) {
    w.set_certificate_sha256(certificate_fingerprint(r.certificate_pem));
    w.set_certificate_not_after(r.certificate_not_after);
  }
  return w;
}

}  // namespace

AdminService::AdminService(JobQueue& queue, std::shared_ptr<StateDatabase> state,
                           std::shared_ptr<AuditLog> audit, AdminServiceOptions options)
    : queue_(queue),
      state_(std::move(state)),
      audit_(std::move(audit)),
      options_(std::move(options)) {}

void AdminService::use_revocation_list(std::shared_ptr<RevocationWatcher> watcher) {
  gate_.use_revocation_list(std::move(watcher));
}

template <typename Fn>
grpc::Status AdminService::serve(grpc::ServerContext* context, const char* action,
                                 const std::string& target, Fn&& fn) {
  PeerIdentity id;
  grpc::Status status = gate_.admit(*context, "admin " + std::string(action), id);
  const std::string actor =
      id.common_name.empty() ? "unauthenticated " + context->peer() : id.subject();
  if (status.ok() && id.role == "researcher" &&
      std::find(std::begin(kResearcherActions), std::end(kResearcherActions),
                std::string(action)) == std::end(kResearcherActions)) {
    status = {grpc::StatusCode::PERMISSION_DENIED,
              "researcher certificates may list jobs, read status and metrics and download "
              "pooled models; '" +
                  std::string(action) + "' needs an admin certificate (OU=admin)"};
  }
  if (status.ok()) {
    try {
      status = fn(actor);
    } catch (const StatusError& e) {
      status = {e.code, e.message};
    } catch (const UnknownJob& e) {
      status = {grpc::StatusCode::NOT_FOUND, e.what()};
    } catch (const ConfigError& e) {
      status = {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
    } catch (const std::exception& e) {
      status = {grpc::StatusCode::FAILED_PRECONDITION, e.what()};
    }
  }
  if (!status.ok())
    spdlog::warn("admin {} {} by {} refused: {}", action, target, actor, status.error_message());
  audit_->record(actor, action, target, status.ok() ? "ok" : "refused", status.error_message());
  return status;
}

grpc::Status AdminService::SubmitJob(grpc::ServerContext* context,
                                     const admin::SubmitJobRequest* request,
                                     admin::SubmitJobReply* reply) {
  const std::string source = request->source().empty() ? "submitted job" : request->source();
  return serve(context, "submit", source, [&](const std::string& actor) {
    uint32_t ahead = 0;
    for (const auto& j : state_->jobs()) ahead += j.status == "queued" || j.status == "running";
    reply->set_job(queue_.submit(request->yaml(), source, actor));
    reply->set_queued_behind(ahead);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListJobs(grpc::ServerContext* context, const admin::ListJobsRequest*,
                                    admin::ListJobsReply* reply) {
  return serve(context, "jobs", "coordinator", [&](const std::string&) {
    for (const auto& j : state_->jobs()) *reply->add_jobs() = job_view(j);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::JobStatus(grpc::ServerContext* context, const admin::JobRequest* request,
                                     admin::JobStatusReply* reply) {
  return serve(context, "status", "job " + request->job(), [&](const std::string&) {
    *reply = job_status_view(queue_, *state_, request->job());
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::AbortJob(grpc::ServerContext* context, const admin::JobRequest* request,
                                    admin::AbortJobReply* reply) {
  return serve(context, "abort", "job " + request->job(), [&](const std::string& actor) {
    require_job(*state_, request->job());
    queue_.abort(request->job(), actor);
    reply->set_message("job " + request->job() + " aborted; the last good model is kept");
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListSites(grpc::ServerContext* context, const admin::ListSitesRequest*,
                                     admin::ListSitesReply* reply) {
  return serve(context, "sites", "coordinator", [&](const std::string&) {
    *reply = site_registry_view(*state_, options_.enrollment.get(),
                                options_.heartbeat_timeout_s);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::DownloadModel(grpc::ServerContext* context,
                                         const admin::DownloadModelRequest* request,
                                         grpc::ServerWriter<admin::FileChunk>* writer) {
  const std::string target =
      "job " + request->job() +
      (request->round() > 0 ? " round " + std::to_string(request->round()) : " pooled");
  return serve(context, "download", target, [&](const std::string&) -> grpc::Status {
    int round = 0;
    try {
      round = downloadable_round(*state_, request->job(), request->round());
    } catch (const UnknownJob&) {
      throw;
    } catch (const Error& e) {
      throw StatusError{grpc::StatusCode::NOT_FOUND, e.what()};
    }
    const ExportedModel exported(options_.state_dir, request->job(), round,
                                 options_.export_torchscript);
    const std::string& pt = exported.path();
    std::ifstream in(pt, std::ios::binary);
    const uint64_t total = std::filesystem::file_size(pt);
    Sha256 hash;
    admin::FileChunk chunk;
    chunk.set_round(uint32_t(round));
    chunk.set_total_bytes(total);
    std::string buffer(1 << 20, '\0');
    uint64_t sent = 0;
    do {
      in.read(buffer.data(), std::streamsize(buffer.size()));
      const std::size_t n = std::size_t(in.gcount());
      hash.update(buffer.data(), n);
      chunk.set_data(buffer.data(), n);
      sent += n;
      if (sent == total) chunk.set_sha256(hash.hex_digest());
      if (!writer->Write(chunk)) {
        return grpc::Status(grpc::StatusCode::CANCELLED, "the admin went away during download");
      }
      chunk.clear_round();
      chunk.clear_total_bytes();
    } while (sent < total);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::Metrics(grpc::ServerContext* context, const admin::JobRequest* request,
                                   admin::MetricsReply* reply) {
  return serve(context, "metrics", "job " + request->job(), [&](const std::string&) {
    require_job(*state_, request->job());
    for (const auto& r : state_->rounds(request->job())) {
      if (r.record.is_object()) reply->add_round_records_json(r.record.dump());
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::Audit(grpc::ServerContext* context, const admin::AuditRequest* request,
                                 admin::AuditReply* reply) {
  return serve(context, request->verify() ? "audit-verify" : "audit", "audit log",
               [&](const std::string&) {
                 if (request->verify()) {
                   const AuditVerdict v = audit_->verify();
                   reply->set_verified(true);
                   reply->set_intact(v.intact);
                   reply->set_count(v.records);
                   reply->set_problem(v.problem);
                 }
                 for (const auto& r : audit_->records(request->limit())) {
                   auto* w = reply->add_records();
                   w->set_seq(r.seq);
                   w->set_at(r.at);
                   w->set_actor(r.actor);
                   w->set_action(r.action);
                   w->set_target(r.target);
                   w->set_outcome(r.outcome);
                   w->set_detail(r.detail);
                   w->set_hash(r.hash);
                 }
                 return grpc::Status::OK;
               });
}

const EnrollmentDesk& AdminService::enrollment() const {
  if (!options_.enrollment) {
    throw StatusError{grpc::StatusCode::FAILED_PRECONDITION,
                      "site enrolment is not set up on this coordinator"};
  }
  return *options_.enrollment;
}

grpc::Status AdminService::IssueEnrollmentToken(grpc::ServerContext* context,
                                                const admin::EnrollmentTokenRequest* request,
                                                admin::EnrollmentTokenReply* reply) {
  return serve(context, "enrollment-token", "site " + request->name(), [&](const std::string& actor) {
    if (!is_valid_participant_name(request->name())) {
      throw StatusError{grpc::StatusCode::INVALID_ARGUMENT,
                        "a site name is 1-63 lower-case letters, digits or '-' (got \"" +
                            request->name() + "\")"};
    }
    const double hours = request->valid_hours() > 0 ? request->valid_hours() : 72;
    if (hours > 24 * 30) {
      throw StatusError{grpc::StatusCode::INVALID_ARGUMENT,
                        "an enrolment token is valid for at most 720 hours (30 days)"};
    }
    std::string expires_at;
    reply->set_token(enrollment().book->issue_token(request->name(), actor, hours, expires_at));
    reply->set_expires_at(expires_at);
    reply->set_enrollment_listen(enrollment().listen);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ListEnrollments(grpc::ServerContext* context,
                                           const admin::ListEnrollmentsRequest*,
                                           admin::ListEnrollmentsReply* reply) {
  return serve(context, "enrollments", "coordinator", [&](const std::string&) {
    for (const auto& row : enrollment().book->list()) *reply->add_enrollments() = to_wire(row);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::ApproveEnrollment(grpc::ServerContext* context,
                                             const admin::EnrollmentDecision* request,
                                             admin::Enrollment* reply) {
  return serve(context, "approve", "site " + request->name(), [&](const std::string& actor) {
    try {
      *reply = to_wire(enrollment().approve(request->name(), request->certificate_pem(), actor,
                                            request->csr_sha256()));
    } catch (const EnrollmentRefused& e) {
      throw StatusError{grpc::StatusCode::FAILED_PRECONDITION, e.what()};
    } catch (const Error& e) {
      throw StatusError{grpc::StatusCode::INVALID_ARGUMENT, e.what()};
    }
    spdlog::info("site {} approved by {}: admitted from now on", request->name(), actor);
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::RejectEnrollment(grpc::ServerContext* context,
                                            const admin::EnrollmentDecision* request,
                                            admin::Enrollment* reply) {
  return serve(context, "reject", "site " + request->name(), [&](const std::string& actor) {
    try {
      *reply = to_wire(enrollment().book->reject(request->name(), request->reason(), actor));
    } catch (const EnrollmentRefused& e) {
      throw StatusError{grpc::StatusCode::FAILED_PRECONDITION, e.what()};
    }
    return grpc::Status::OK;
  });
}

grpc::Status AdminService::RemoveSite(grpc::ServerContext* context,
                                      const admin::EnrollmentDecision* request,
                                      admin::Enrollment* reply) {
  return serve(context, "remove-site", "site " + request->name(), [&](const std::string& actor) {
    if (!is_valid_participant_name(request->name())) {
      throw StatusError{grpc::StatusCode::INVALID_ARGUMENT, "not a site name"};
    }
    *reply = to_wire(enrollment().book->remove(request->name(), request->reason(), actor));
    spdlog::warn("site {} removed from the roster by {}: refused from its next join",
                 request->name(), actor);
    return grpc::Status::OK;
  });
}

}  // namespace fedxray

// AdminService: the gRPC admin API (proto/admin.proto) over a JobQueue and the state database.
//
// Every call must come with a verified consortium certificate whose OU is "admin" or
// "researcher" and which the revocation list (if any) does not revoke; anything else is refused
// with PERMISSION_DENIED. A researcher may only read: list jobs, job status, metrics and pooled
// model downloads (kResearcherActions); submit, abort, the site registry, the audit log and
// site enrolment (tokens, the queue, approve, reject) need an admin certificate.
// Every call, allowed or refused, is an audit record naming the caller's certificate subject.
// Models are streamed to the admin as TorchScript, converted by the `export_torchscript`
// function given (the coordinator library itself stays torch-free).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "coordinator/transport/caller_gate.h"
#include "fedxray/proto/admin.grpc.pb.h"

namespace fedxray {

class AuditLog;
class JobQueue;
class RevocationWatcher;
class StateDatabase;
struct EnrollmentDesk;

struct AdminServiceOptions {
  std::string state_dir;
  double heartbeat_timeout_s = 60;  // a site heard from within this is "connected"
  // Writes the TorchScript form of model file `fxm` to `pt`.
  std::function<void(const std::string& fxm, const std::string& pt)> export_torchscript;
  // Site enrolment (coordinator/transport/enrollment_service.h); null: the enrolment calls
  // answer that it is not set up.
  std::shared_ptr<const EnrollmentDesk> enrollment;
};

class AdminService final : public admin::Admin::Service {
 public:
  AdminService(JobQueue& queue, std::shared_ptr<StateDatabase> state,
               std::shared_ptr<AuditLog> audit, AdminServiceOptions options);
  void use_revocation_list(std::shared_ptr<RevocationWatcher> watcher);

  grpc::Status SubmitJob(grpc::ServerContext* context, const admin::SubmitJobRequest* request,
                         admin::SubmitJobReply* reply) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const admin::ListJobsRequest* request,
                        admin::ListJobsReply* reply) override;
  grpc::Status JobStatus(grpc::ServerContext* context, const admin::JobRequest* request,
                         admin::JobStatusReply* reply) override;
  grpc::Status AbortJob(grpc::ServerContext* context, const admin::JobRequest* request,
                        admin::AbortJobReply* reply) override;
  grpc::Status ListSites(grpc::ServerContext* context, const admin::ListSitesRequest* request,
                         admin::ListSitesReply* reply) override;
  grpc::Status DownloadModel(grpc::ServerContext* context,
                             const admin::DownloadModelRequest* request,
                             grpc::ServerWriter<admin::FileChunk>* writer) override;
  grpc::Status Metrics(grpc::ServerContext* context, const admin::JobRequest* request,
                       admin::MetricsReply* reply) override;
  grpc::Status Audit(grpc::ServerContext* context, const admin::AuditRequest* request,
                     admin::AuditReply* reply) override;
  grpc::Status IssueEnrollmentToken(grpc::ServerContext* context,
                                    const admin::EnrollmentTokenRequest* request,
                                    admin::EnrollmentTokenReply* reply) override;
  grpc::Status ListEnrollments(grpc::ServerContext* context,
                               const admin::ListEnrollmentsRequest* request,
                               admin::ListEnrollmentsReply* reply) override;
  grpc::Status ApproveEnrollment(grpc::ServerContext* context,
                                 const admin::EnrollmentDecision* request,
                                 admin::Enrollment* reply) override;
  grpc::Status RejectEnrollment(grpc::ServerContext* context,
                                const admin::EnrollmentDecision* request,
                                admin::Enrollment* reply) override;
  grpc::Status RemoveSite(grpc::ServerContext* context, const admin::EnrollmentDecision* request,
                          admin::Enrollment* reply) override;

 private:
  const EnrollmentDesk& enrollment() const;  // or a FAILED_PRECONDITION StatusError
  // Checks the caller and runs `fn`, auditing `action` on `target` with the outcome.
  template <typename Fn>
  grpc::Status serve(grpc::ServerContext* context, const char* action, const std::string& target,
                     Fn&& fn);

  JobQueue& queue_;
  std::shared_ptr<StateDatabase> state_;
  std::shared_ptr<AuditLog> audit_;
  AdminServiceOptions options_;
  CallerGate gate_{std::vector<std::string>{"admin", "researcher"}};
};

}  // namespace fedxray

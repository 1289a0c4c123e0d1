#include "coordinator/transport/enrollment_service.h"

#include <algorithm>

#include <grpc/grpc_security_constants.h>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "config/participant_name.h"
#include "coordinator/store/audit_log.h"
#include "pki/certificate_authority.h"
#include "pki/signing_request.h"
#include "pki/tls.h"

namespace fedxray {
namespace {

constexpr int kMaxMessageBytes = 64 * 1024;

void fill(const EnrollmentRow& row, enrollment::EnrollmentState* reply) {
  reply->set_status(row.status);
  if (row.status == "pending") {
    reply->set_message("waiting for a consortium admin to approve it (fedxray admin approve " +
                       row.name + ")");
  } else if (row.status == "approved") {
    reply->set_message("approved by " + row.decided_by + " at " + row.decided_at);
    reply->set_certificate_pem(row.certificate_pem);
  } else {
    reply->set_message(row.status + " by " + row.decided_by + " at " + row.decided_at +
                       (row.reason.empty() ? std::string() : ": " + row.reason));
  }
}

}  // namespace

bool EnrollmentDesk::on_roster(const std::string& name) const {
  if (book->removed(name)) return false;
  const bool listed = listed_sites.empty() || std::find(listed_sites.begin(), listed_sites.end(),
                                                        name) != listed_sites.end();
  return listed || book->admitted(name);
}

EnrollmentRow EnrollmentDesk::approve(const std::string& name, const std::string& certificate_pem,
                                      const std::string& actor,
                                      const std::string& csr_sha256) const {
  const auto row = book->find(name);
  const bool pending = row && row->status == "pending";
  if (!csr_sha256.empty() && (!pending || row->csr_sha256 != csr_sha256)) {
    throw EnrollmentRefused(
        "the pending request from '" + name + "' is not the one with SHA-256 " + csr_sha256 +
        (pending ? " (it is " + row->csr_sha256 + ")" : std::string(" (none is pending)")) +
        "; do not approve it: ask the site which request it sent");
  }
  if (certificate_pem.empty()) {
    if (!pending) {
      throw EnrollmentRefused("there is no pending enrolment request from '" + name +
                              "'; `fedxray admin enrollments` lists them");
    }
    if (!ca) {
      throw EnrollmentRefused(
          "the coordinator holds no CA key (coordinator.ca_private_key is not set): sign the "
          "request offline with `fedxray provision sign` and approve with --certificate");
    }
    const SigningRequest request = read_signing_request(row->csr_pem);
    CertificateRequest what;
    what.common_name = name;
    what.role = "site";
    what.validity_days = validity_days;
    const std::string certificate = ca->issue_for_public_key(request.public_key_pem, what);
    return book->approve(name, certificate, certificate_not_after(certificate), actor);
  }
  // A certificate from the offline CA: for the pending request's key, or (a CSR handed over out
  // of band) for whatever key it names, as long as the CA issued it to this site.
  SigningRequest request;
  if (pending) {
    request = read_signing_request(row->csr_pem);
  } else {
    request = key_and_name_of(certificate_pem);
  }
  if (request.common_name != name) {
    throw EnrollmentRefused("the certificate is for '" + request.common_name + "', not '" + name +
                            "'");
  }
  const int64_t not_after = check_issued_for(certificate_pem, request, "site", ca_certificate_pem);
  return book->approve(name, certificate_pem, not_after, actor);
}

EnrollmentService::EnrollmentService(std::shared_ptr<EnrollmentBook> book,
                                     std::shared_ptr<AuditLog> audit)
    : book_(std::move(book)), audit_(std::move(audit)) {}

grpc::Status EnrollmentService::Request(grpc::ServerContext* context,
                                        const enrollment::CertificateRequest* request,
                                        enrollment::EnrollmentState* reply) {
  const std::string shown_name = request->name().substr(0, 63);
  // Without the admin's token nothing is parsed or recorded (only logged): the port is open to
  // anyone, and must not let anyone fill the audit log or the disk.
  if (!is_valid_participant_name(request->name()) ||
      !book_->token_usable(request->name(), request->token())) {
    spdlog::warn("enrolment request for '{}' from {} refused: no valid token for that name",
                 shown_name, context->peer());
    return {grpc::StatusCode::PERMISSION_DENIED,
            "this is not a valid enrolment token for '" + shown_name +
                "' (wrong, used or expired); ask the consortium admin for one (fedxray admin "
                "enrollment-token " +
                shown_name + ")"};
  }
  const std::string actor = "enrolling " + context->peer();
  const std::string target = "site " + request->name();
  grpc::Status status;
  std::string detail;
  try {
    const SigningRequest csr = read_signing_request(request->csr_pem());
    if (csr.common_name != request->name()) {
      throw EnrollmentRefused("the signing request names '" + csr.common_name.substr(0, 63) +
                              "', the request '" + request->name() + "'");
    }
    fill(book_->request(request->name(), request->token(), request->csr_pem(), csr.sha256), reply);
    detail = "CSR " + csr.sha256;
  } catch (const EnrollmentRefused& e) {
    status = {grpc::StatusCode::PERMISSION_DENIED, e.what()};
  } catch (const Error& e) {
    status = {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
  }
  if (!status.ok()) {
    spdlog::warn("enrolment request for {} from {} refused: {}", target, context->peer(),
                 status.error_message());
    detail = status.error_message().substr(0, 300);
  } else {
    spdlog::info("enrolment request for {} from {} is pending an admin's decision", target,
                 context->peer());
  }
  audit_->record(actor, "enrollment request", target, status.ok() ? "ok" : "refused", detail);
  return status;
}

grpc::Status EnrollmentService::Collect(grpc::ServerContext*,
                                        const enrollment::CollectRequest* request,
                                        enrollment::EnrollmentState* reply) {
  const auto row = book_->find(request->name());
  if (!row || row->csr_sha256.empty() || row->csr_sha256 != request->csr_sha256()) {
    return {grpc::StatusCode::NOT_FOUND,
            "no enrolment request from '" + request->name() +
                "' with this signing request; send it first (with the admin's token)"};
  }
  fill(*row, reply);
  return grpc::Status::OK;
}

EnrollmentServer::EnrollmentServer(const std::string& listen, const std::string& certificate_file,
                                   const std::string& private_key_file,
                                   std::shared_ptr<EnrollmentBook> book,
                                   std::shared_ptr<AuditLog> audit)
    : service_(std::move(book), std::move(audit)) {
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({read_file(private_key_file), read_file(certificate_file)});
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, grpc::SslServerCredentials(options), &port_);
  builder.RegisterService(&service_);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    throw Error("cannot listen on " + listen +
                " for enrolment; is the port in use or the address wrong? "
                "(coordinator.enrollment_listen)");
  }
  spdlog::info("enrolment listening on {} (port {}): TLS, new sites with an admin's token", listen,
               port_);
}

EnrollmentServer::~EnrollmentServer() {
  shutdown();
}

void EnrollmentServer::shutdown() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
  }
}

}  // namespace fedxray

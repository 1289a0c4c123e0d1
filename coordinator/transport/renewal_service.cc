#include "coordinator/transport/renewal_service.h"

#include <spdlog/spdlog.h>

#include "coordinator/store/audit_log.h"
#include "coordinator/transport/enrollment_service.h"
#include "pki/certificate_authority.h"
#include "pki/signing_request.h"
#include "pki/tls.h"

namespace fedxray {

RenewalService::RenewalService(std::shared_ptr<const EnrollmentDesk> desk,
                               std::shared_ptr<AuditLog> audit)
    : desk_(std::move(desk)), audit_(std::move(audit)) {}

void RenewalService::use_revocation_list(std::shared_ptr<RevocationWatcher> watcher) {
  gate_.use_revocation_list(std::move(watcher));
}

grpc::Status RenewalService::Renew(grpc::ServerContext* context,
                                   const enrollment::RenewalRequest* request,
                                   enrollment::EnrollmentState* reply) {
  PeerIdentity id;
  grpc::Status status = gate_.admit(*context, "renew", id);
  if (!status.ok()) return status;  // refused and logged by the gate
  const std::string site = id.common_name;
  std::string detail;
  try {
    const SigningRequest csr = read_signing_request(request->csr_pem());
    if (csr.common_name != site) {
      throw EnrollmentRefused("the signing request names '" + csr.common_name +
                              "'; a site renews only its own certificate ('" + site + "')");
    }
    if (!desk_->on_roster(site)) {
      throw EnrollmentRefused("site '" + site +
                              "' is not on the consortium's roster (removed by "
                              "an admin, or neither listed nor enrolled); it cannot renew");
    }
    if (!desk_->ca) {
      throw EnrollmentRefused(
          "the coordinator holds no CA key (coordinator.ca_private_key), so it cannot renew "
          "here: send the signing request to the consortium admin for `fedxray provision sign`");
    }
    CertificateRequest what;
    what.common_name = site;
    what.role = "site";
    what.validity_days = desk_->validity_days;
    const std::string certificate = desk_->ca->issue_for_public_key(csr.public_key_pem, what);
    const int64_t not_after = certificate_not_after(certificate);
    if (desk_->book->admitted(site)) {
      desk_->book->approve(site, certificate, not_after, "renewal by " + id.subject());
    }
    reply->set_status("approved");
    reply->set_message("renewed until " + std::to_string(days_until(not_after)) + " days from now");
    reply->set_certificate_pem(certificate);
    detail = "new certificate " + certificate_fingerprint(certificate).substr(0, 16) + ", CSR " +
             csr.sha256.substr(0, 16);
    spdlog::info("site {} renewed its certificate ({})", site, detail);
  } catch (const EnrollmentRefused& e) {
    status = {grpc::StatusCode::FAILED_PRECONDITION, e.what()};
  } catch (const Error& e) {
    status = {grpc::StatusCode::INVALID_ARGUMENT, e.what()};
  }
  if (!status.ok()) {
    detail = status.error_message();
    spdlog::warn("certificate renewal for site {} refused: {}", site, detail);
  }
  audit_->record(id.subject(), "renew", "site " + site, status.ok() ? "ok" : "refused", detail);
  return status;
}

}  // namespace fedxray

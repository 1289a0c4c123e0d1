// Enrolment of new sites on the coordinator's side (proto/enrollment.proto).
//
// EnrollmentService answers sites that have no certificate yet, on its own port
// (coordinator.enrollment_listen): TLS with the coordinator's certificate, no client
// certificate. Request() records a CSR as pending when it comes with the one-time token an
// admin issued for its name; Collect() tells the holder of a request (named by its SHA-256) its
// state, and the certificate once approved. Nothing else is served there, messages are capped
// at 64 KiB, and every request, accepted or refused, is an audit record.
//
// EnrollmentDesk is what admins act through (the admin API's enrolment calls): approve() signs
// a pending request with the CA key when the coordinator holds it, or takes the certificate the
// offline CA issued (`fedxray provision sign`), checked against the request and the CA.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "coordinator/store/enrollment_book.h"
#include "fedxray/proto/enrollment.grpc.pb.h"

namespace fedxray {

class AuditLog;
class CertificateAuthority;

struct EnrollmentDesk {
  std::shared_ptr<EnrollmentBook> book;
  std::string ca_certificate_pem;
  std::shared_ptr<const CertificateAuthority> ca;  // null: the CA key is kept offline
  int validity_days = 825;                         // of the certificates the coordinator signs
  std::string listen;                              // coordinator.enrollment_listen ("" = off)
  std::vector<std::string> listed_sites;           // coordinator.sites (empty: any the CA signed)

  // Approves `name`'s request (see above); throws EnrollmentRefused or Error saying why not.
  // A non-empty `csr_sha256` must be the pending request's (what `fedxray enroll` printed at
  // the site), so the admin approves the request the site made and not one sent in its place.
  EnrollmentRow approve(const std::string& name, const std::string& certificate_pem,
                        const std::string& actor, const std::string& csr_sha256 = "") const;
  // Whether `name` is on the roster now: listed (or any name, with no list) or approved by
  // enrolment, and not removed.
  bool on_roster(const std::string& name) const;
};

class EnrollmentService final : public enrollment::Enrollment::Service {
 public:
  EnrollmentService(std::shared_ptr<EnrollmentBook> book, std::shared_ptr<AuditLog> audit);
  grpc::Status Request(grpc::ServerContext* context, const enrollment::CertificateRequest* request,
                       enrollment::EnrollmentState* reply) override;
  grpc::Status Collect(grpc::ServerContext* context, const enrollment::CollectRequest* request,
                       enrollment::EnrollmentState* reply) override;

 private:
  std::shared_ptr<EnrollmentBook> book_;
  std::shared_ptr<AuditLog> audit_;
};

// The enrolment port: EnrollmentService alone, TLS with the coordinator's certificate.
class EnrollmentServer {
 public:
  // listen: "address:port" (port 0 picks a free one). Throws Error if it cannot bind.
  EnrollmentServer(const std::string& listen, const std::string& certificate_file,
                   const std::string& private_key_file, std::shared_ptr<EnrollmentBook> book,
                   std::shared_ptr<AuditLog> audit);
  ~EnrollmentServer();
  int port() const { return port_; }
  void shutdown();

 private:
  EnrollmentService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace fedxray

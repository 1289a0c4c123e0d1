// RenewalService: a site's certificate renewed before it expires, with no downtime and with a
// new key that, like the first, never leaves the site (proto/enrollment.proto, service Renewal).
//
// Served on the coordinator's main port beside the site protocol: the caller must hold a valid,
// unrevoked site certificate (OU=site), and the signing request must name that same site. The
// coordinator signs with the CA key it holds (coordinator.ca_private_key); without one the call
// is refused with how to renew offline. A site admitted by enrolment gets its new certificate
// recorded on the roster. Every renewal, granted or refused, is an audit record.
#pragma once

#include <memory>

#include "coordinator/transport/caller_gate.h"
#include "fedxray/proto/enrollment.grpc.pb.h"

namespace fedxray {

class AuditLog;
class RevocationWatcher;
struct EnrollmentDesk;

class RenewalService final : public enrollment::Renewal::Service {
 public:
  RenewalService(std::shared_ptr<const EnrollmentDesk> desk, std::shared_ptr<AuditLog> audit);
  void use_revocation_list(std::shared_ptr<RevocationWatcher> watcher);
  grpc::Status Renew(grpc::ServerContext* context, const enrollment::RenewalRequest* request,
                     enrollment::EnrollmentState* reply) override;

 private:
  std::shared_ptr<const EnrollmentDesk> desk_;
  std::shared_ptr<AuditLog> audit_;
  CallerGate gate_{"site"};
};

}  // namespace fedxray

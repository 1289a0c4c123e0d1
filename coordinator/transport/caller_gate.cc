#include "coordinator/transport/caller_gate.h"

#include <spdlog/spdlog.h>

#include "pki/revocation_list.h"

namespace fedxray {

void CallerGate::use_revocation_list(std::shared_ptr<RevocationWatcher> watcher) {
  std::lock_guard<std::mutex> lock(mu_);
  revocation_ = std::move(watcher);
}

grpc::Status CallerGate::admit(const grpc::ServerContext& context, const std::string& rpc,
                               PeerIdentity& id) {
  id = peer_identity(context);
  if (id.common_name.empty() || id.role != role_) {
    spdlog::warn("refused {} from {}: certificate CN='{}' OU='{}' is not a {} certificate", rpc,
                 context.peer(), id.common_name, id.role, role_);
    return {grpc::StatusCode::PERMISSION_DENIED,
            "only " + role_ + " certificates (OU=" + role_ + ") may call " + rpc};
  }
  std::shared_ptr<RevocationWatcher> revocation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    revocation = revocation_;
  }
  if (revocation && revocation->is_revoked(id.certificate_pem)) {
    spdlog::warn("refused {} from {}={}: its certificate has been revoked", rpc, role_,
                 id.common_name);
    return {grpc::StatusCode::PERMISSION_DENIED, "the certificate of " + role_ + " '" +
                                                     id.common_name +
                                                     "' has been revoked by the consortium"};
  }
  return grpc::Status::OK;
}

}  // namespace fedxray

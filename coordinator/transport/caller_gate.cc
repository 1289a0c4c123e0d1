#include "coordinator/transport/caller_gate.h"

#include <algorithm>

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
  if (id.common_name.empty() || std::find(roles_.begin(), roles_.end(), id.role) == roles_.end()) {
    std::string names, ous;
    for (const auto& r : roles_) {
      names += (names.empty() ? "" : " or ") + r;
      ous += (ous.empty() ? "" : ", ") + ("OU=" + r);
    }
    spdlog::warn("refused {} from {}: certificate CN='{}' OU='{}' is not a {} certificate", rpc,
                 context.peer(), id.common_name, id.role, names);
    return {grpc::StatusCode::PERMISSION_DENIED,
            "only " + names + " certificates (" + ous + ") may call " + rpc};
  }
  std::shared_ptr<RevocationWatcher> revocation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    revocation = revocation_;
  }
  if (revocation && revocation->is_revoked(id.certificate_pem)) {
    spdlog::warn("refused {} from {}={}: its certificate has been revoked", rpc, id.role,
                 id.common_name);
    return {grpc::StatusCode::PERMISSION_DENIED, "the certificate of " + id.role + " '" +
                                                     id.common_name +
                                                     "' has been revoked by the consortium"};
  }
  return grpc::Status::OK;
}

}  // namespace fedxray

// CallerGate: who may call one of the coordinator's gRPC services. A caller passes when its
// verified consortium certificate carries one of the service's roles (OU: "site" for the site
// protocol; "admin" or "researcher" for the admin API, which then limits what a researcher may
// do) and the watched revocation list, if any, does not revoke it.
// Refusals are logged and answered with PERMISSION_DENIED naming the rule. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "pki/tls.h"

namespace fedxray {

class RevocationWatcher;

class CallerGate {
 public:
  explicit CallerGate(std::string role) : roles_{std::move(role)} {}
  explicit CallerGate(std::vector<std::string> roles) : roles_(std::move(roles)) {}
  // From now on, refuse callers whose certificate the watched list revokes.
  void use_revocation_list(std::shared_ptr<RevocationWatcher> watcher);
  // OK with the caller's identity in `id`, or PERMISSION_DENIED saying why.
  grpc::Status admit(const grpc::ServerContext& context, const std::string& rpc, PeerIdentity& id);

 private:
  const std::vector<std::string> roles_;
  std::mutex mu_;
  std::shared_ptr<RevocationWatcher> revocation_;
};

}  // namespace fedxray

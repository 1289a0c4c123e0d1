// CallerGate: who may call one of the coordinator's gRPC services. A caller passes when its
// verified consortium certificate carries the service's role (OU: "site" for the site protocol,
// "admin" for the admin API) and the watched revocation list, if any, does not revoke it.
// Refusals are logged and answered with PERMISSION_DENIED naming the rule. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/grpcpp.h>

#include "pki/tls.h"

namespace fedxray {

class RevocationWatcher;

class CallerGate {
 public:
  explicit CallerGate(std::string role) : role_(std::move(role)) {}
  // From now on, refuse callers whose certificate the watched list revokes.
  void use_revocation_list(std::shared_ptr<RevocationWatcher> watcher);
  // OK with the caller's identity in `id`, or PERMISSION_DENIED saying why.
  grpc::Status admit(const grpc::ServerContext& context, const std::string& rpc, PeerIdentity& id);

 private:
  const std::string role_;
  std::mutex mu_;
  std::shared_ptr<RevocationWatcher> revocation_;
};

}  // namespace fedxray

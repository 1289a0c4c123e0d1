// CoordinatorService: the gRPC face of a JobRunner.
//
// Every call first reads the caller's identity from its verified client certificate (CN, with
// OU "site"); anything else is refused with PERMISSION_DENIED and logged. It then forwards to the
// JobRunner, streams models out of the model file in 1 MiB chunks, and folds uploaded chunks into
// the round's aggregator as they arrive. A site that sends garbage gets an error status and is
// recorded as failed for the round; the coordinator carries on.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "coordinator/transport/caller_gate.h"
#include "coordinator/transport/site_call_limit.h"
#include "fedxray/proto/fedxray.grpc.pb.h"

namespace fedxray {

class AuditLog;
class JobRunner;
class RevocationWatcher;
class StateDatabase;

// The job the sites are served for right now (null between jobs).
using RunnerSource = std::function<std::shared_ptr<JobRunner>()>;

// Calls one site may have in flight at once (see site_call_limit.h).
inline constexpr int kMaxCallsPerSite = 16;

class CoordinatorService final : public wire::Coordinator::Service {
 public:
  explicit CoordinatorService(JobRunner& runner);
  // Serves whichever job `source` returns at each call. A site that joined an earlier job is
  // joined to the next one with its last Join request, so it need not know jobs changed.
  explicit CoordinatorService(RunnerSource source);
  // From now on, refuse callers whose certificate the watched CRL revokes.
  void use_revocation_list(std::shared_ptr<RevocationWatcher> watcher);
  // Records joins in the site registry and every upload in the audit log.
  void use_state(std::shared_ptr<StateDatabase> state, std::shared_ptr<AuditLog> audit);

  // Running totals since start, for monitoring.
  struct Counters {
    uint64_t update_bytes_received = 0;
    uint64_t model_bytes_sent = 0;
    uint64_t refused_calls = 0;
  };
  Counters counters() const;

  grpc::Status Join(grpc::ServerContext* context, const wire::JoinRequest* request,
                    wire::JoinReply* reply) override;
  grpc::Status GetWork(grpc::ServerContext* context, const wire::WorkRequest* request,
                       wire::WorkReply* reply) override;
  grpc::Status DownloadModel(grpc::ServerContext* context, const wire::ModelRequest* request,
                             grpc::ServerWriter<wire::ModelChunk>* writer) override;
  grpc::Status UploadUpdate(grpc::ServerContext* context,
                            grpc::ServerReader<wire::UpdateChunk>* reader,
                            wire::UploadReply* reply) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const wire::HeartbeatRequest* request,
                         wire::HeartbeatReply* reply) override;
  grpc::Status SecureAggregation(grpc::ServerContext* context, const wire::SecAggRequest* request,
                                 wire::SecAggReply* reply) override;

 private:
  // Admits a site certificate (CallerGate) and counts refusals; `identity` gets the caller's.
  // Also takes one of the site's call slots (`slot`) for the rest of the call.
  grpc::Status site_of(grpc::ServerContext* context, const char* rpc, std::string& site,
                       SiteCallLimit::Slot& slot, PeerIdentity* identity = nullptr);
  // The current job's runner, with `site` joined to it; throws Refusal when no job runs.
  std::shared_ptr<JobRunner> runner_for(const std::string& site);
  // `runner`, after joining `site` to it with the site's last Join if it has not joined yet.
  std::shared_ptr<JobRunner> with_site_joined(std::shared_ptr<JobRunner> runner,
                                              const std::string& site);
  // Updates the site's last-seen time in the registry (throttled).
  void seen(const std::string& site);
  void audit(const std::string& site, const std::string& action, const std::string& target,
             const grpc::Status& outcome);
  CallerGate gate_{"site"};
  SiteCallLimit calls_{kMaxCallsPerSite};
  std::mutex mu_;
  std::shared_ptr<StateDatabase> state_;
  std::shared_ptr<AuditLog> audit_;
  std::map<std::string, wire::JoinRequest> joins_;  // each site's last accepted Join
  std::map<std::string, std::chrono::steady_clock::time_point> last_recorded_;
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> refused_{0};
  RunnerSource source_;
};

// What the service checks and records on every call, installed before the port opens so that no
// call is ever served without them.
struct CoordinatorGates {
  std::shared_ptr<StateDatabase> state;            // site registry
  std::shared_ptr<AuditLog> audit;                 // every join and upload
  std::shared_ptr<RevocationWatcher> revocation;   // revoked certificates are refused
};

// A running gRPC server with mutual TLS around a JobRunner.
class CoordinatorServer {
 public:
  // listen: "address:port" (port 0 picks a free one). Throws Error if it cannot bind.
  CoordinatorServer(JobRunner& runner, const std::string& listen,
                    std::shared_ptr<grpc::ServerCredentials> credentials);
  // Serves the job `source` returns, plus `extra` services (the admin API) on the same port,
  // with `gates` in place before the first call can arrive.
  CoordinatorServer(RunnerSource source, const std::string& listen,
                    std::shared_ptr<grpc::ServerCredentials> credentials,
                    std::vector<grpc::Service*> extra = {}, CoordinatorGates gates = {});
  ~CoordinatorServer();
  int port() const { return port_; }
  CoordinatorService& service() { return service_; }
  void shutdown();
  // Watches `crl_path` (see pki/revocation_list.h); takes effect for the next call.
  void use_revocation_list(const std::string& crl_path, const std::string& ca_cert_pem);

 private:
  void start(const std::string& listen, std::shared_ptr<grpc::ServerCredentials> credentials,
             const std::vector<grpc::Service*>& extra);
  CoordinatorService service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace fedxray

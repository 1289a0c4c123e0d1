// SiteAgent: the hospital side of the protocol. It only ever dials out to the coordinator.
//
// run(): Join, then long-poll for work. For each TRAIN assignment: download the global model
// (chunked, SHA-256 checked), pass it through the inbound filters, train it with the Trainer
// while a background thread heartbeats, pass the update through the outbound filters
// (site-agent/filters/site_filters.h: DP, privacy budget, weight cap) and upload the new weights as a chunked stream with the sample count and local metrics (or,
// when the job asks for secure aggregation, only a masked update: see secure_upload.h). When
// the coordinator says the round is over for this site, training is abandoned and nothing is
// uploaded. Any exception during a round (a refused assignment, LibTorch, out of memory, a file)
// fails that round only, with a reason sent to the coordinator only when it was made to leave the
// site (ShareableError); the agent then waits for its next assignment. When a job ends (or the
// next one starts) the trainer is told, so a long-running agent keeps nothing per finished job.
// run() returns when the job has finished; it throws fedxray::Error when the
// coordinator refuses the site (wrong certificate, not admitted) with the coordinator's reason.
// A coordinator that is briefly unreachable is retried with backoff.
// Thread-safety: run() on one thread; stop() from any.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "config/site_policy.h"
#include "fedxray/proto/fedxray.grpc.pb.h"
#include "privacy/secagg/secure_aggregation_site.h"
#include "site-agent/filters/privacy_budget.h"
#include "site-agent/filters/site_filters.h"
#include "site-agent/transport/secure_upload.h"
#include "training/trainer.h"

namespace fedxray {

struct SiteAgentOptions {
  std::string site_name;               // must match the CN of the site's certificate
  double unreachable_give_up_s = 300;  // stop retrying a coordinator that stays away this long
  // The site's certificate, key and consortium CA (PEM text), for secure aggregation: the key
  // signs the round's public keys, the CA checks the other sites'. Without them the site
  // refuses jobs that ask for secure aggregation.
  SiteCredentials credentials{};
  SitePolicy policy{};  // checked before anything is downloaded; a violation refuses the round
  // false: run() returns when the job ends. true: the agent keeps serving the coordinator's
  // next jobs until stop() (a hospital's long-running service).
  bool serve_after_job = false;
  // Makes a new channel to the coordinator. When set, a coordinator that stays unreachable for
  // a few attempts is dialled afresh, so a restarted coordinator is found at the next attempt
  // rather than after gRPC's own reconnect backoff.
  std::function<std::shared_ptr<grpc::Channel>()> redial{};
  // How the channel reaches the coordinator, for the messages about an unreachable one:
  // "directly" or "through the HTTP proxy http://host:port" (config/http_proxy.h).
  std::string route = "directly";
  // Upkeep while the agent waits for work (no round in flight), at most every
  // maintenance_interval_s: renewing its certificate when it nears expiry, say. Returning true
  // means the kit's files changed: the agent dials afresh with redial and joins again.
  std::function<bool()> maintenance{};
  double maintenance_interval_s = 3600;
  // After upkeep changed the kit: the credentials read again (secure aggregation then signs
  // with the new key and certificate).
  std::function<SiteCredentials()> reload_credentials{};
};

class SiteAgent {
 public:
  SiteAgent(std::shared_ptr<grpc::Channel> channel, SiteAgentOptions options, Trainer& trainer);

  // Returns the coordinator's closing message. While the coordinator is away (restart, network)
  // the agent retries with exponential backoff and jitter, joins again when it is back, and
  // gives up only after unreachable_give_up_s without an answer.
  std::string run();
  void stop();

  // Observer, called after the coordinator accepted an upload (tests, progress displays).
  void on_uploaded(std::function<void(int round, const TrainingResult&)> callback) {
    on_uploaded_ = std::move(callback);
  }
  // Observer of each secure-aggregation step (see secure_upload.h); throwing abandons the round.
  void on_secure_step(SecureStepObserver observer) { on_secure_step_ = std::move(observer); }

  // Running totals since start, for monitoring.
  struct Counters {
    uint64_t rounds_uploaded = 0;
    uint64_t rounds_failed = 0;
    uint64_t model_bytes_downloaded = 0;
    uint64_t update_bytes_uploaded = 0;
    bool coordinator_reachable = false;
    bool training = false;
  };
  Counters counters() const;

 private:
  void join();
  // Sleeps up to `d` in small steps; false if stop() was called meanwhile.
  bool pause(std::chrono::milliseconds d);
  void maintain();  // runs options_.maintenance when it is due
  void serve_round(const wire::WorkReply& work);
  void report_round_failure(const wire::HeartbeatRequest& beat, const std::string& why,
                            bool shareable);
  // Tells the trainer the previous job is over when another one (or none: empty id) begins.
  void enter_job(const std::string& job_id);
  ModelBlob download(const wire::JobSpec& job, int round);
  void upload(const wire::JobSpec& job, int round, const TrainingResult& result);

  std::unique_ptr<wire::Coordinator::Stub> stub_;
  SiteAgentOptions options_;
  Trainer& trainer_;
  PrivacyBudget budget_;  // options_.policy.budget_file
  SiteFilters filters_;   // what is applied to the model received and the update sent
  uint32_t heartbeat_interval_ms_ = 2000;
  std::string current_job_;  // the job of the last assignment, until it finishes
  std::chrono::steady_clock::time_point last_maintenance_{};  // epoch: due at the first wait
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> rounds_uploaded_{0}, rounds_failed_{0}, bytes_down_{0}, bytes_up_{0};
  std::atomic<bool> reachable_{false}, training_{false};
  std::function<void(int, const TrainingResult&)> on_uploaded_;
  SecureStepObserver on_secure_step_;
};

}  // namespace fedxray

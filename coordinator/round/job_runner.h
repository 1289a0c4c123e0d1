// JobRunner: drives one federated job round by round and answers the sites' requests.
//
// Each round: wait until enough sites are available, let the Strategy pick them, hand them the
// global model, fold their uploads into the round's Aggregator as the bytes arrive, and close
// the round when every selected site has reported or failed, or when the deadline passes. A round
// with at least min_sites reports publishes the new global model (CheckpointStore) and appends a
// metrics line; with fewer it fails cleanly, is recorded, and the job stops with the last good
// model in place. Sites that were late, silent past the heartbeat timeout, or sent a bad update
// are recorded with their reason; none of them can change the pooled model or stop the job.
//
// Thread-safety: run() on one thread; the RPC verbs may be called from any number of threads.
// Verbs take the site's identity from its certificate (the caller checks the role) and throw
// Refusal for anything the site may not do.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/job_config.h"
#include "coordinator/round/round_observer.h"
#include "coordinator/store/checkpoint_store.h"
#include "fedxray/proto/fedxray.pb.h"
#include "wire/model_blob.h"

namespace fedxray {

class Aggregator;
class EnrollmentBook;
class ModelFileReader;
class SecureRound;
class StateDatabase;
class Strategy;
class UpdateSink;

struct CoordinatorOptions {
  std::string state_dir = "state";
  std::vector<std::string> allowed_sites;  // empty: any site certificate from the CA
  // Sites admitted by enrolment (approved by an admin) are admitted beside allowed_sites, from
  // the moment they are approved; null: allowed_sites alone.
  std::shared_ptr<EnrollmentBook> enrollments;
  double heartbeat_timeout_s = 60;
  // The durable record (coordinator.db). With it the runner resumes a job from its last
  // completed round whose checkpoint verifies (see resume_point.h), and records every round and
  // each site's part in it. Without it (simulations, tests) the job starts from round 1.
  std::shared_ptr<StateDatabase> state;
};

// One selected site's part in the current round, as an admin sees it.
struct SiteRoundStatus {
  std::string site;
  std::string state;  // selected, training, uploading, uploaded, late, failed, refused
  std::string reason;
};

// One site's upload in flight. Owned by the RPC handler; fold bytes into `sink`, then call
// JobRunner::finish_upload. Destroying it unfinished takes the bytes back out.
struct UploadSession {
  std::string site;
  int round = 0;
  wire::UpdateHeader header;
  std::shared_ptr<Aggregator> aggregator;  // keeps the aggregator alive for the sink
  std::unique_ptr<UpdateSink> sink;
  ~UploadSession();
};

struct JobProgress {
  int round = 0;          // current or last round
  int rounds = 0;
  int selected = 0;
  int reported = 0;
  int failed = 0;
  bool finished = false;
  bool succeeded = false;
  std::string message;
};

class JobRunner {
 public:
  JobRunner(JobConfig job, CoordinatorOptions options, ModelBlob initial_model,
            std::unique_ptr<Strategy> strategy);
  ~JobRunner();

  // Blocks until the job ends. Returns true when every round completed.
  bool run();
  // Makes run() return soon; the current round fails with `why` and so does the job.
  void stop(const std::string& why);
  // Makes run() return soon, leaving the job resumable: the current round is recorded as
  // interrupted and runs again when a coordinator restarts with the same state.
  void interrupt(const std::string& why);
  bool interrupted() const;
  // Called on the runner thread after each round with that round's metrics record.
  void on_round_finished(std::function<void(const nlohmann::json&)> callback);

  JobProgress progress() const;
  std::vector<SiteRoundStatus> round_sites() const;
  bool has_joined(const std::string& site) const;
  // The round this runner started after (0, or the round it resumed from).
  int resumed_from() const { return resume_round_; }
  const CheckpointStore& store() const { return store_; }
  const JobConfig& job() const { return job_; }
  wire::JobSpec job_spec() const;

  // --- the sites' verbs -------------------------------------------------------------------
  wire::JoinReply join(const std::string& site, const wire::JoinRequest& request);
  // Long poll: returns as soon as there is work for the site, the job ends, or max_wait passes.
  wire::WorkReply get_work(const std::string& site, std::chrono::milliseconds max_wait);
  std::shared_ptr<const ModelFileReader> begin_download(const std::string& site,
                                                        const wire::ModelRequest& request);
  std::unique_ptr<UploadSession> begin_upload(const std::string& site,
                                              const wire::UpdateHeader& header);
  // Commits the update if its round is still open for this site; otherwise throws Refusal.
  void finish_upload(UploadSession& session);
  void fail_upload(const UploadSession& session, const std::string& reason);
  wire::HeartbeatReply heartbeat(const std::string& site, const wire::HeartbeatRequest& request);
  // One secure-aggregation step of the current round (blocks until its stage closes).
  wire::SecAggReply secure_step(const std::string& site, const wire::SecAggRequest& request);
  // True once every joined site has been told the job is over (or none joined).
  bool all_sites_told_finished() const;

 private:
  // A selected site's part in a round. The last four are final; each is recorded as itself.
  enum class SiteState { kSelected, kTraining, kUploading, kUploaded, kLate, kRefused, kFailed };
  static bool finished(SiteState s) { return s >= SiteState::kUploaded; }
  struct SiteInfo {
    std::chrono::steady_clock::time_point last_seen;
    uint64_t dataset_size = 0;
    bool supports_model = false;
    bool told_finished = false;
  };
  struct SiteRound {
    SiteState state = SiteState::kSelected;
    std::string reason;
    uint64_t max_samples = 0;  // the most its update may weigh: min(joined size, job cap)
    uint64_t samples = 0;
    wire::LocalMetrics metrics;
  };
  struct Round {
    int number = 0;
    bool open = false;
    std::chrono::steady_clock::time_point deadline;
    std::map<std::string, SiteRound> sites;
    std::shared_ptr<Aggregator> aggregator;
    std::shared_ptr<SecureRound> secure;  // the aggregator, when the strategy masks updates
    wire::ModelManifest update_layout;     // what a site's update holds (wire/update_layout.h)
  };

  void require_joined(const std::string& site) const;         // mu_ held
  SiteRound& require_assignment(const std::string& site, const std::string& job_id,
                                int round);                    // mu_ held
  std::vector<std::string> available_sites() const;            // mu_ held
  std::size_t roster_size() const;  // sites that may take part (listed, enrolled or any seen)
  bool wait_for_sites(std::unique_lock<std::mutex>& lock);
  void expire_silent_sites();                                  // mu_ held
  bool round_settled() const;                                  // mu_ held
  // One round: open (select sites, make the aggregator), collect updates until every selected
  // site is done or the deadline passes, close (mark the rest late), publish the next global
  // model (the strategy's update), account (status, observers such as the DP accountant).
  nlohmann::json run_round(int number);
  struct RoundOutcome {
    std::size_t selected = 0;
    int reported = 0;
    bool stopped = false;
    bool deadline_passed = false;
    double collect_seconds = 0;
    std::shared_ptr<Aggregator> aggregator;
    std::shared_ptr<ModelFileReader> published;  // set when the next global model is written
    std::string sha, publish_error;
  };
  bool open_round(int number, std::unique_lock<std::mutex>& lock, nlohmann::json& record);  // mu_ held
  RoundOutcome close_round(nlohmann::json& record);                                      // mu_ held
  void publish(int number, RoundOutcome& outcome);                                       // mu_ free
  void account(int number, const RoundOutcome& outcome, nlohmann::json& record);         // mu_ held
  // Ends the site's part in the round as `outcome` (kLate, kRefused or kFailed) with `reason`.
  void fail_site(SiteRound& s, const std::string& site, const std::string& reason,
                 SiteState outcome = SiteState::kFailed);
  static const char* state_name(const SiteRound& s);
  void record_site(const std::string& site, const SiteRound& s);  // into the state database
  void resume(const ModelBlob& initial_model);
  uint64_t weight_limit(const std::string& site) const;       // mu_ held

  JobConfig job_;
  CoordinatorOptions options_;
  std::unique_ptr<Strategy> strategy_;
  CheckpointStore store_;
  wire::ModelManifest layout_;
  std::function<void(const nlohmann::json&)> round_callback_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, SiteInfo> sites_;
  Round round_;
  std::shared_ptr<const ModelFileReader> global_;
  std::vector<std::unique_ptr<RoundObserver>> observers_;  // e.g. the DP accountant
  bool stopping_ = false;
  bool interrupted_ = false;
  int resume_round_ = 0;
  std::string previous_sha_;  // the current global model's SHA-256: each round record links to it
  std::string stop_reason_;
  bool finished_ = false;
  bool succeeded_ = false;
  std::string final_message_;
};

}  // namespace fedxray

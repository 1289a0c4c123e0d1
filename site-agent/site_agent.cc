#include "site-agent/site_agent.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "base/version.h"
#include "site-agent/transport/model_transfer.h"
#include "site-agent/transport/retry_backoff.h"
#include "wire/update_layout.h"

namespace fedxray {
namespace {

using Clock = std::chrono::steady_clock;

bool transient(const grpc::Status& s) {
  // CANCELLED: the coordinator shut down with this call in flight (a restart).
  // RESOURCE_EXHAUSTED: the coordinator's per-site call limit, until earlier calls finish.
  return s.error_code() == grpc::StatusCode::UNAVAILABLE ||
         s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         s.error_code() == grpc::StatusCode::CANCELLED ||
         s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
}

void set_deadline(grpc::ClientContext& context, std::chrono::seconds seconds) {
  context.set_deadline(std::chrono::system_clock::now() + seconds);
}

// Sends heartbeats until destroyed; remembers whether the coordinator still wants the round.
class HeartbeatThread {
 public:
  HeartbeatThread(wire::Coordinator::Stub& stub, wire::HeartbeatRequest request,
                  std::chrono::milliseconds interval)
      : stub_(stub), request_(std::move(request)), interval_(interval),
        thread_([this] { loop(); }) {}
  ~HeartbeatThread() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void set_phase(const std::string& phase, double progress) {
    std::lock_guard<std::mutex> lock(mu_);
    request_.set_phase(phase);
    request_.set_progress(progress);
  }
  bool keep_going() const { return keep_going_; }
  std::string message() {
    std::lock_guard<std::mutex> lock(mu_);
    return message_;
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, interval_, [this] { return done_; })) {
      wire::HeartbeatRequest req = request_;
      lock.unlock();
      grpc::ClientContext context;
      set_deadline(context, std::chrono::seconds(10));
      wire::HeartbeatReply reply;
      grpc::Status s = stub_.Heartbeat(&context, req, &reply);
      lock.lock();
      if (s.ok() && !reply.keep_going()) {
        keep_going_ = false;
        message_ = reply.message();
      }
    }
  }

  wire::Coordinator::Stub& stub_;
  wire::HeartbeatRequest request_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> keep_going_{true};
  std::string message_;
  std::thread thread_;
};

}  // namespace

SiteAgent::SiteAgent(std::shared_ptr<grpc::Channel> channel, SiteAgentOptions options,
                     Trainer& trainer)
    : stub_(wire::Coordinator::NewStub(channel)),
      options_(std::move(options)),
      trainer_(trainer),
      budget_(options_.policy.budget_file),
      filters_(options_.policy, budget_) {}

void SiteAgent::stop() { stopping_ = true; }

SiteAgent::Counters SiteAgent::counters() const {
  return {rounds_uploaded_.load(), rounds_failed_.load(), bytes_down_.load(), bytes_up_.load(),
          reachable_.load(), training_.load()};
}

void SiteAgent::join() {
  wire::JoinRequest request;
  request.set_site_name(options_.site_name);
  request.set_software_version(kVersion);
  request.set_dataset_size(trainer_.dataset_size());
  for (const auto& m : trainer_.supported_models()) request.add_supported_models(m);
  const auto first_try = Clock::now();
  RetryBackoff backoff;
  for (int attempt = 0;; ++attempt) {
    grpc::ClientContext context;
    set_deadline(context, std::chrono::seconds(10));
    context.set_wait_for_ready(attempt > 0);
    wire::JoinReply reply;
    grpc::Status s = stub_->Join(&context, request, &reply);
    if (s.ok()) {
      heartbeat_interval_ms_ = std::max<uint32_t>(100, reply.heartbeat_interval_ms());
      spdlog::info("site={} joined coordinator (version {})", reply.site(),
                   reply.coordinator_version());
      return;
    }
    if (!transient(s) || stopping_) {
      throw Error("the coordinator refused site '" + options_.site_name + "': " +
                  s.error_message() + " (gRPC status " + std::to_string(s.error_code()) + ")");
    }
    if (std::chrono::duration<double>(Clock::now() - first_try).count() >
        options_.unreachable_give_up_s) {
      const bool proxied = options_.route.rfind("through", 0) == 0;
      throw Error("cannot reach the coordinator " + options_.route + ": " + s.error_message() +
                  (proxied ? "; check site.proxy (address, credentials_file) and that the proxy "
                             "allows CONNECT to site.coordinator's port, then the certificates"
                           : "; check site.coordinator, the firewall's outbound rule (or "
                             "site.proxy if the hospital requires a proxy) and the certificates"));
    }
    const auto wait = backoff.next();
    spdlog::warn("site={} coordinator unreachable {} ({}); retrying in {} ms", options_.site_name,
                 options_.route, s.error_message(), wait.count());
    if (!pause(wait)) throw Error("stopped while waiting for the coordinator");
  }
}

bool SiteAgent::pause(std::chrono::milliseconds d) {
  const auto until = Clock::now() + d;
  while (!stopping_ && Clock::now() < until) {
    std::this_thread::sleep_for(std::min<Clock::duration>(std::chrono::milliseconds(100),
                                                          until - Clock::now()));
  }
  return !stopping_;
}

std::string SiteAgent::run() {
  join();
  auto unreachable_since = Clock::now();
  RetryBackoff backoff;
  while (!stopping_) {
    grpc::ClientContext context;
    set_deadline(context, std::chrono::seconds(30));
    wire::WorkReply work;
    grpc::Status s = stub_->GetWork(&context, wire::WorkRequest(), &work);
    if (!s.ok()) {
      if (s.error_code() == grpc::StatusCode::FAILED_PRECONDITION) {
        // A restarted coordinator does not know this site yet: join again, then carry on.
        spdlog::warn("site={} the coordinator asks it to join again ({})", options_.site_name,
                     s.error_message());
        backoff.reset();  // it answered: it is back
        if (!pause(std::chrono::milliseconds(200))) break;
        join();
        continue;
      }
      if (!transient(s)) {
        throw Error("the coordinator refused site '" + options_.site_name + "': " + s.error_message());
      }
      if (std::chrono::duration<double>(Clock::now() - unreachable_since).count() >
          options_.unreachable_give_up_s) {
        throw Error("lost the coordinator (reached " + options_.route +
                    ") for too long: " + s.error_message());
      }
      reachable_ = false;
      if (options_.redial && backoff.attempts() >= 3) {
        stub_ = wire::Coordinator::NewStub(options_.redial());  // no round in flight: safe
      }
      const auto wait = backoff.next();
      spdlog::warn("site={} coordinator unreachable {} ({}); retrying in {} ms",
                   options_.site_name, options_.route, s.error_message(), wait.count());
      pause(wait);
      continue;
    }
    unreachable_since = Clock::now();
    reachable_ = true;
    backoff.reset();
    switch (work.kind()) {
      case wire::WorkReply::JOB_FINISHED:
        enter_job({});  // what the trainer kept for the job is freed
        if (!options_.serve_after_job) {
          spdlog::info("site={} job finished: {}", options_.site_name, work.message());
          return work.message();
        }
        maintain();
        pause(std::chrono::seconds(2));  // wait for the coordinator's next job
        break;
      case wire::WorkReply::TRAIN:
        serve_round(work);
        break;
      default:
        maintain();
        if (work.poll_after_ms() > 0) pause(std::chrono::milliseconds(work.poll_after_ms()));
        break;
    }
  }
  return "stopped";
}

void SiteAgent::maintain() {
  if (!options_.maintenance) return;
  const auto now = Clock::now();
  if (last_maintenance_ != Clock::time_point{} &&
      std::chrono::duration<double>(now - last_maintenance_).count() <
          options_.maintenance_interval_s) {
    return;
  }
  last_maintenance_ = now;
  bool changed = false;
  try {
    changed = options_.maintenance();
  } catch (const std::exception& e) {
    spdlog::warn("site={} upkeep failed ({}); trying again in {} s", options_.site_name, e.what(),
                 options_.maintenance_interval_s);
  }
  if (changed && options_.reload_credentials) options_.credentials = options_.reload_credentials();
  if (changed && options_.redial) {
    stub_ = wire::Coordinator::NewStub(options_.redial());  // no round in flight: safe
    join();
  }
}

void SiteAgent::serve_round(const wire::WorkReply& work) {
  const wire::JobSpec& job = work.job();
  const int round = int(work.round());
  wire::HeartbeatRequest beat;
  beat.set_job_id(job.job_id());
  beat.set_round(uint32_t(round));
  beat.set_phase("downloading");
  try {
    const FilterRound filter_round{job, round, trainer_.dataset_size()};
    std::string refused = options_.policy.violation(job);
    if (refused.empty()) enter_job(job.job_id());  // only a well-formed id names a job
    if (refused.empty()) refused = filters_.check(filter_round);
    if (refused.empty() && job.differential_privacy().enabled() &&
        job.secure_aggregation().enabled() &&
        int64_t(job.differential_privacy().summed_sites()) >
            int64_t(work.secure_aggregation().sites_size())) {
      refused = "the assignment's job.differential_privacy.summed_sites (" +
                std::to_string(job.differential_privacy().summed_sites()) + ") exceeds the " +
                std::to_string(work.secure_aggregation().sites_size()) +
                " sites of the secure round: this site would add too little noise";
    }
    if (!refused.empty()) throw ShareableError(refused);
    HeartbeatThread heartbeat(*stub_, beat, std::chrono::milliseconds(heartbeat_interval_ms_));
    const auto t0 = Clock::now();
    training_ = true;
    struct ClearTrainingFlagOnExit {
      std::atomic<bool>& training;
      ~ClearTrainingFlagOnExit() { training = false; }
    } clear_training_flag{training_};
    ModelBlob global = download(job, round);
    bytes_down_ += global.bytes.size();
    filters_.apply_inbound(filter_round, global);
    const auto t1 = Clock::now();
    TrainingResult result = trainer_.train(job, round, global, [&](const std::string& phase, double f) {
      heartbeat.set_phase(phase, f);
      return heartbeat.keep_going() && !stopping_;
    });
    heartbeat.set_phase("uploading", 1.0);
    if (!heartbeat.keep_going()) throw TrainingCancelled();
    filters_.apply_outbound(filter_round, global, result);  // site_filters.h: DP, budget, weight
    const auto t2 = Clock::now();
    if (job.secure_aggregation().enabled()) {
      if (!work.has_secure_aggregation()) {
        throw Error("the job asks for secure aggregation but the assignment has no parameters");
      }
      if (options_.credentials.private_key_pem.empty()) {
        throw Error("the job asks for secure aggregation and this site agent was started "
                    "without its certificate key to sign its round keys");
      }
      // The update may hold fewer tensors than the global model (FedBN): encode against those.
      const bool whole = layout_difference(global.manifest, result.model.manifest).empty();
      const ModelBlob part = whole ? ModelBlob{} : restrict_to(global, result.model.manifest);
      run_secure_round(*stub_, options_.credentials, work, whole ? global : part, result,
                       trainer_.dataset_size(), on_secure_step_);
    } else {
      upload(job, round, result);
    }
    const auto t3 = Clock::now();
    auto secs = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double>(b - a).count();
    };
    spdlog::info("site={} job={} round={} uploaded {} samples (held-out accuracy {:.3f}; "
                 "download {:.2f} s, train {:.2f} s, upload {:.2f} s)",
                 options_.site_name, job.job_id(), round, result.samples,
                 result.metrics.held_out_accuracy(), secs(t0, t1), secs(t1, t2), secs(t2, t3));
    trainer_.round_uploaded(job.job_id(), round);
    ++rounds_uploaded_;
    bytes_up_ += result.model.bytes.size();
    if (on_uploaded_) on_uploaded_(round, result);
  } catch (const TrainingCancelled&) {
    spdlog::warn("site={} job={} round={}: round over for this site, nothing uploaded",
                 options_.site_name, job.job_id(), round);
  } catch (const std::exception& e) {
    // Any failure (ours, LibTorch's, out of memory, the filesystem) ends this round only: the
    // agent lives on for the next assignment rather than die and rejoin into the same failure.
    report_round_failure(beat, e.what(), dynamic_cast<const ShareableError*>(&e) != nullptr);
  } catch (...) {
    report_round_failure(beat, "an exception of unknown type", false);
  }
}

void SiteAgent::report_round_failure(const wire::HeartbeatRequest& beat, const std::string& why,
                                     bool shareable) {
  // Tell the coordinator why at once, so it need not wait for the heartbeat timeout; then wait
  // for the next assignment.
  ++rounds_failed_;
  spdlog::error("site={} job={} round={} failed: {}", options_.site_name, beat.job_id(),
                beat.round(), why);
  wire::HeartbeatRequest failure = beat;
  failure.set_phase("failed");
  // Only messages made to leave the site go out; others may name local files.
  failure.set_failure(shareable ? why
                                : "the site failed this round; the reason is in the site's log");
  grpc::ClientContext context;
  set_deadline(context, std::chrono::seconds(10));
  wire::HeartbeatReply reply;
  stub_->Heartbeat(&context, failure, &reply);
}

void SiteAgent::enter_job(const std::string& job_id) {
  if (job_id == current_job_) return;
  if (!current_job_.empty()) trainer_.end_job(current_job_);
  current_job_ = job_id;
}

ModelBlob SiteAgent::download(const wire::JobSpec& job, int round) {
  return download_model(*stub_, job.job_id(), round, options_.policy.max_model_bytes());
}

void SiteAgent::upload(const wire::JobSpec& job, int round, const TrainingResult& result) {
  grpc::Status s =
      upload_update(*stub_, job.job_id(), round, result.model, result.samples, result.metrics);
  if (!s.ok()) {
    throw Error("the coordinator rejected the update for round " + std::to_string(round) + ": " +
                s.error_message());
  }
}

}  // namespace fedxray

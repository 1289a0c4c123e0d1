#include "coordinator/round/job_runner.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "base/version.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/robust_aggregator.h"
#include "coordinator/aggregation/server_momentum.h"
#include "coordinator/aggregation/strategy.h"
#include "coordinator/aggregation/secure_round.h"
#include "coordinator/round/refusal.h"
#include "coordinator/store/enrollment_book.h"
#include "coordinator/store/resume_point.h"
#include "coordinator/store/state_database.h"
#include "privacy/dp/rdp_accountant.h"
#include "wire/model_file.h"
#include "wire/update_layout.h"

namespace fedxray {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

nlohmann::json metrics_json(const wire::LocalMetrics& m, const std::string& task) {
  // NaN (an AUC on a one-class split) is written as null.
  nlohmann::json out = {{"train_loss", m.train_loss()},
          {"held_out_loss", m.held_out_loss()},
          {"held_out_accuracy", m.held_out_accuracy()},
          {"held_out_balanced_accuracy", m.held_out_balanced_accuracy()},
          {"held_out_macro_f1", m.held_out_macro_f1()},
          {"held_out_auc", m.held_out_auc()},
          {"held_out_count", m.held_out_count()},
          {"global_held_out_loss", m.global_held_out_loss()},
          {"global_held_out_accuracy", m.global_held_out_accuracy()},
          {"global_held_out_balanced_accuracy", m.global_held_out_balanced_accuracy()},
          {"global_held_out_auc", m.global_held_out_auc()},
          {"dp_sgd_epsilon", m.dp_sgd_epsilon()},
          {"dp_sgd_delta", m.dp_sgd_delta()},
          {"train_seconds", m.train_seconds()}};
  if (m.has_personal()) {  // the site's personalised model, which stays at the site
    out["personal_held_out_loss"] = m.personal_held_out_loss();
    out["personal_held_out_accuracy"] = m.personal_held_out_accuracy();
    out["personal_held_out_balanced_accuracy"] = m.personal_held_out_balanced_accuracy();
    out["personal_held_out_auc"] = m.personal_held_out_auc();
  }
  if (task == "ordinal") {
    out["held_out_kappa"] = m.held_out_kappa();
    out["held_out_mae"] = m.held_out_mae();
    out["global_held_out_kappa"] = m.global_held_out_kappa();
    if (m.has_personal()) out["personal_held_out_kappa"] = m.personal_held_out_kappa();
  }
  if (task == "segmentation") {
    out["held_out_dice"] = m.held_out_dice();
    out["global_held_out_dice"] = m.global_held_out_dice();
    out["held_out_hausdorff95"] = m.held_out_hausdorff95();
    if (m.has_personal()) out["personal_held_out_dice"] = m.personal_held_out_dice();
  }
  if (task == "multilabel") {
    out["held_out_label_auc"] = std::vector<double>(m.held_out_label_auc().begin(),
                                                    m.held_out_label_auc().end());
  }
  return out;
}

}  // namespace

// How a selected site's part in a round is named in the state database, the metrics record and
// `admin status`.
const char* JobRunner::state_name(const SiteRound& s) {
  switch (s.state) {
    case SiteState::kSelected: return "selected";
    case SiteState::kTraining: return "training";
    case SiteState::kUploading: return "uploading";
    case SiteState::kUploaded: return "uploaded";
    case SiteState::kLate: return "late";
    case SiteState::kRefused: return "refused";
    case SiteState::kFailed: break;
  }
  return "failed";
}

UploadSession::~UploadSession() = default;

JobRunner::JobRunner(JobConfig job, CoordinatorOptions options, ModelBlob initial_model,
                     std::unique_ptr<Strategy> strategy)
    : job_(std::move(job)),
      options_(std::move(options)),
      strategy_(std::move(strategy)),
      store_(options_.state_dir, job_.name),
      observers_(make_round_observers(job_)) {
  std::string problem = manifest_problem(initial_model.manifest);
  if (!problem.empty()) throw Error("the initial model is malformed: " + problem);
  initial_model = strategy_->initial_global(std::move(initial_model));  // e.g. SCAFFOLD's controls
  layout_ = initial_model.manifest;
  layout_.clear_sha256();
  update_layout(job_spec(), 1, layout_);  // throws for a FedBN job on a model without batch norm
  resume(initial_model);
}

void JobRunner::resume(const ModelBlob& initial_model) {
  bool resuming = false;
  if (options_.state && !options_.state->job(job_.name)) {
    // Started directly rather than through the JobQueue (benchmarks, embedding): register it.
    options_.state->add_job(job_.name, "", job_.rounds, "coordinator");
    options_.state->set_job_status(job_.name, "running", "");
  }
  if (options_.state && !options_.state->rounds(job_.name).empty()) {
    ResumePoint p = find_resume_point(*options_.state, store_, job_.name);
    for (const auto& note : p.notes) spdlog::warn("job={} {}", job_.name, note);
    if (p.round > 0 || !p.model_sha256.empty()) {
      resuming = true;
      resume_round_ = p.round;
      previous_sha_ = p.model_sha256;
      store_.rewrite_metrics(p.records);  // the database is the truth; metrics.jsonl follows it
      for (const auto& record : p.records) {
        for (auto& observer : observers_) observer->replay(record);
      }
      spdlog::info("job={} resumes after round {} (model sha256 {})", job_.name, resume_round_,
                   previous_sha_);
    }
  }
  if (!resuming) write_model_file(store_.model_path(0), initial_model);
  global_ = std::make_shared<ModelFileReader>(store_.model_path(resume_round_));
  if (const std::string d = layout_difference(layout_, global_->manifest()); !d.empty()) {
    throw Error("job " + job_.name + ": the checkpoint of round " + std::to_string(resume_round_) +
                " does not fit the job's model (" + d + "). Was the job's model, scaffold or " +
                "fedbn changed since it started? Submit the changed job under a new name");
  }
  if (!resuming) previous_sha_ = global_->manifest().sha256();
  if (strategy_->keeps_server_state() && resume_round_ > 0) {
    const std::string saved = store_.strategy_state_path(resume_round_);
    const std::string unusable = strategy_->restore_state(saved, layout_);
    if (unusable.empty()) {
      spdlog::info("job={} {} resumes its server state from {}", job_.name, strategy_->name(),
                   saved);
      return;
    }
    spdlog::info("job={} {}: {}; rebuilding the server state from the checkpoints", job_.name,
                 strategy_->name(), unusable);
    std::string problem;
    if (verified_model_sha256(store_.model_path(resume_round_ - 1), problem).empty()) {
      spdlog::warn("job={} {} restarts its server state from zero: round {} checkpoint unusable "
                   "({})", job_.name, strategy_->name(), resume_round_ - 1, problem);
    } else {
      strategy_->resume(ModelFileReader(store_.model_path(resume_round_ - 1)), *global_);
    }
  }
}

JobRunner::~JobRunner() = default;

void JobRunner::on_round_finished(std::function<void(const nlohmann::json&)> callback) {
  round_callback_ = std::move(callback);
}

wire::JobSpec JobRunner::job_spec() const {
  wire::JobSpec s;
  s.set_job_id(job_.name);
  s.set_model(job_.model);
  s.set_classes(uint32_t(job_.classes));
  if (job_.task != "classification") s.set_task(job_.task);
  for (const auto& name : job_.label_names) s.add_label_names(name);
  s.set_image_size(uint32_t(job_.image_size));
  s.set_rounds(uint32_t(job_.rounds));
  s.set_local_epochs(uint32_t(job_.local_epochs));
  s.set_batch_size(uint32_t(job_.batch_size));
  s.set_optimizer(job_.optimizer);
  s.set_learning_rate(job_.learning_rate);
  s.set_momentum(job_.momentum);
  s.set_seed(job_.seed);
  s.set_augment(job_.augment);
  s.set_learning_rate_schedule(job_.learning_rate_schedule);
  s.set_keep_optimizer_state(job_.keep_optimizer_state);
  s.set_proximal_mu(job_.proximal_mu);
  s.set_logit_adjustment(job_.logit_adjustment);
  if (!job_.personalization.method.empty()) {
    auto* p = s.mutable_personalization();
    p->set_method(job_.personalization.method);
    p->set_epochs(uint32_t(job_.personalization.epochs));
    p->set_head_only(job_.personalization.head_only);
    p->set_ditto_lambda(job_.personalization.ditto_lambda);
  }
  s.set_max_site_samples(job_.max_site_samples);
  s.set_scaffold(job_.scaffold);
  if (job_.fedbn.enabled) {
    s.mutable_fedbn()->set_enabled(true);
    s.mutable_fedbn()->set_pooled_statistics(job_.fedbn.pooled_statistics);
  }
  if (job_.secure_aggregation.enabled) {
    auto* a = s.mutable_secure_aggregation();
    a->set_enabled(true);
    a->set_threshold(uint32_t(job_.secure_aggregation.threshold));
    a->set_neighbours(uint32_t(job_.secure_aggregation.neighbours));
    a->set_clip(job_.secure_aggregation.clip);
    a->set_stage_timeout_s(job_.secure_aggregation.stage_timeout_s);
  }
  if (job_.differential_privacy.enabled) {
    auto* d = s.mutable_differential_privacy();
    d->set_enabled(true);
    d->set_clip_norm(job_.differential_privacy.clip_norm);
    d->set_noise_multiplier(job_.differential_privacy.noise_multiplier);
    d->set_delta(job_.differential_privacy.delta);
    d->set_summed_sites(job_.secure_aggregation.enabled ? uint32_t(job_.min_sites) : 1u);
  }
  if (job_.dp_sgd.enabled) {
    auto* d = s.mutable_dp_sgd();
    d->set_enabled(true);
    d->set_clip_norm(job_.dp_sgd.clip_norm);
    d->set_noise_multiplier(job_.dp_sgd.noise_multiplier);
    d->set_delta(job_.dp_sgd.delta);
  }
  return s;
}

void JobRunner::stop(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  stop_reason_ = why;
  if (round_.secure) round_.secure->abort("job stopped: " + why);
  changed_.notify_all();
}

void JobRunner::interrupt(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  interrupted_ = true;
  stop_reason_ = why;
  if (round_.secure) round_.secure->abort("coordinator interrupted: " + why);
  changed_.notify_all();
}

bool JobRunner::interrupted() const {
  std::lock_guard<std::mutex> lock(mu_);
  return interrupted_;
}

bool JobRunner::has_joined(const std::string& site) const {
  std::lock_guard<std::mutex> lock(mu_);
  return sites_.count(site) > 0;
}

std::vector<SiteRoundStatus> JobRunner::round_sites() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<SiteRoundStatus> out;
  for (const auto& [name, s] : round_.sites) out.push_back({name, state_name(s), s.reason});
  return out;
}

void JobRunner::record_site(const std::string& site, const SiteRound& s) {
  if (!options_.state) return;
  try {
    options_.state->site_round_state(job_.name, round_.number, site, state_name(s), s.reason);
  } catch (const Error& e) {
    spdlog::error("job={} round={} site={}: could not record its state: {}", job_.name,
                  round_.number, site, e.what());
  }
}

JobProgress JobRunner::progress() const {
  std::lock_guard<std::mutex> lock(mu_);
  JobProgress p;
  p.round = round_.number;
  p.rounds = job_.rounds;
  p.selected = int(round_.sites.size());
  for (const auto& [name, s] : round_.sites) {
    p.reported += s.state == SiteState::kUploaded;
    p.failed += finished(s.state) && s.state != SiteState::kUploaded;
  }
  p.finished = finished_;
  p.succeeded = succeeded_;
  p.message = final_message_;
  return p;
}

bool JobRunner::run() {
  spdlog::info("job={} model={} rounds={} sites_per_round={} min_sites={} starting", job_.name,
               job_.model, job_.rounds, job_.sites_per_round, job_.min_sites);
  bool ok = true;
  int last_good = resume_round_;
  for (int r = resume_round_ + 1; r <= job_.rounds; ++r) {
    nlohmann::json record = run_round(r);
    if (interrupted()) {
      ok = false;
      if (options_.state) options_.state->mark_interrupted(job_.name, "interrupted: " + stop_reason_);
      std::lock_guard<std::mutex> lock(mu_);
      final_message_ = "interrupted during round " + std::to_string(r) + " (" + stop_reason_ +
                       "); a coordinator restarted with the same state resumes after round " +
                       std::to_string(last_good);
      break;
    }
    // The database row is the commit point of a round; metrics.jsonl follows it.
    if (options_.state) options_.state->round_finished(job_.name, r, record, previous_sha_);
    store_.append_metrics(record);
    if (round_callback_) round_callback_(record);
    if (record["status"] != "completed") {
      ok = false;
      std::lock_guard<std::mutex> lock(mu_);
      final_message_ = "round " + std::to_string(r) + " failed: " +
                       record["reason"].get<std::string>();
      break;
    }
    previous_sha_ = record["model_sha256"].get<std::string>();
    last_good = r;
  }
  if (ok) {
    store_.publish_pooled(last_good);
  }
  std::lock_guard<std::mutex> lock(mu_);
  finished_ = true;
  succeeded_ = ok;
  if (ok) final_message_ = "all " + std::to_string(job_.rounds) + " rounds completed";
  spdlog::info("job={} finished: {}; pooled model: {}", job_.name, final_message_,
               ok ? store_.pooled_path() : store_.model_path(last_good));
  changed_.notify_all();
  return ok;
}

std::vector<std::string> JobRunner::available_sites() const {
  std::vector<std::string> out;
  for (const auto& [name, info] : sites_) {
    if (info.supports_model && seconds_since(info.last_seen) < options_.heartbeat_timeout_s) {
      out.push_back(name);
    }
  }
  return out;
}

bool JobRunner::wait_for_sites(std::unique_lock<std::mutex>& lock) {
  const auto waiting_since = Clock::now();
  auto last_log = Clock::now();
  for (;;) {
    if (stopping_) return false;
    const int available = int(available_sites().size());
    if (available >= job_.sites_per_round) return true;
    if (available >= job_.min_sites && seconds_since(waiting_since) >= job_.round_deadline_s) {
      return true;
    }
    if (seconds_since(last_log) > 30) {
      spdlog::info("job={} round={} waiting for sites: {} available, {} wanted (min {})",
                   job_.name, round_.number, available, job_.sites_per_round, job_.min_sites);
      last_log = Clock::now();
    }
    changed_.wait_for(lock, std::chrono::milliseconds(200));
  }
}

void JobRunner::fail_site(SiteRound& s, const std::string& site, const std::string& reason,
                          SiteState outcome) {
  s.state = outcome;
  s.reason = reason;
  if (round_.secure) round_.secure->site_failed(site);
  record_site(site, s);
  spdlog::warn("job={} round={} site={} failed: {}", job_.name, round_.number, site, reason);
}

void JobRunner::expire_silent_sites() {
  for (auto& [name, s] : round_.sites) {
    if (s.state != SiteState::kSelected && s.state != SiteState::kTraining) continue;
    const double silent = seconds_since(sites_[name].last_seen);
    if (silent > options_.heartbeat_timeout_s) {
      fail_site(s, name, "no heartbeat for " + std::to_string(int(silent)) + " s");
    }
  }
}

bool JobRunner::round_settled() const {
  for (const auto& [name, s] : round_.sites) {
    if (!finished(s.state)) return false;
  }
  return true;
}

nlohmann::json JobRunner::run_round(int number) {
  const auto started = Clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  nlohmann::json record = {{"job", job_.name}, {"round", number}};
  if (!open_round(number, lock, record)) return record;
  while (!stopping_ && !round_settled() && Clock::now() < round_.deadline) {
    changed_.wait_for(lock, std::chrono::milliseconds(100));
    expire_silent_sites();
  }
  const double collect_seconds = seconds_since(started);
  RoundOutcome outcome = close_round(record);
  outcome.collect_seconds = collect_seconds;
  lock.unlock();  // writing the model can take a while; sites keep being answered meanwhile
  publish(number, outcome);
  lock.lock();
  account(number, outcome, record);
  record["collect_seconds"] = outcome.collect_seconds;  // from round start until it closed
  record["seconds"] = seconds_since(started);  // including publishing the new global model
  spdlog::info("job={} round={} {} ({} of {} sites reported, {:.2f} s)", job_.name, number,
               record["status"].get<std::string>(), outcome.reported, outcome.selected,
               record["seconds"].get<double>());
  changed_.notify_all();
  return record;
}

bool JobRunner::open_round(int number, std::unique_lock<std::mutex>& lock, nlohmann::json& record) {
  round_ = Round{};
  round_.number = number;
  if (!wait_for_sites(lock)) {
    record["status"] = "failed";
    record["reason"] = "stopped: " + stop_reason_;
    return false;
  }
  std::vector<std::string> chosen =
      strategy_->select_sites(number, available_sites(), job_.sites_per_round);
  round_.deadline = Clock::now() + std::chrono::milliseconds(int64_t(job_.round_deadline_s * 1000));
  round_.update_layout = update_layout(job_spec(), number, layout_);
  RoundPlan plan{number, chosen, {}, round_.update_layout, global_, round_.deadline};
  for (const auto& s : chosen) plan.weight_caps[s] = round_.sites[s].max_samples = weight_limit(s);
  round_.aggregator = strategy_->make_aggregator(plan);
  // A secure round also runs the key and share exchanges that the sites' secure_step calls join.
  round_.secure = std::dynamic_pointer_cast<SecureRound>(round_.aggregator);
  if (options_.state) options_.state->round_started(job_.name, number, chosen);
  record["previous_model_sha256"] = previous_sha_;
  round_.open = true;
  spdlog::info("job={} round={} started with sites {}", job_.name, number,
               nlohmann::json(chosen).dump());
  changed_.notify_all();
  return true;
}

JobRunner::RoundOutcome JobRunner::close_round(nlohmann::json& record) {
  round_.open = false;
  RoundOutcome outcome;
  outcome.deadline_passed = Clock::now() >= round_.deadline;
  outcome.stopped = stopping_;
  outcome.aggregator = round_.aggregator;
  outcome.selected = round_.sites.size();
  for (auto& [name, s] : round_.sites) {
    if (finished(s.state)) continue;
    if (stopping_) {
      fail_site(s, name, "job stopped: " + stop_reason_);
    } else {
      fail_site(s, name, "late: the round deadline passed before its update arrived",
                SiteState::kLate);
    }
  }
  nlohmann::json sites = nlohmann::json::array();
  for (const auto& [name, s] : round_.sites) {
    nlohmann::json entry = {{"site", name},
                            {"status", s.state == SiteState::kUploaded ? "reported" : "failed"},
                            {"state", state_name(s)}};
    if (s.state == SiteState::kUploaded) {
      ++outcome.reported;
      entry["samples"] = s.samples;
      entry["metrics"] = metrics_json(s.metrics, job_.task);
    } else {
      entry["reason"] = s.reason;
    }
    sites.push_back(entry);
  }
  record["sites"] = sites;
  record["selected"] = outcome.selected;
  record["reported"] = outcome.reported;
  return outcome;
}

void JobRunner::publish(int number, RoundOutcome& outcome) {
  outcome.aggregator->close();  // uploads in flight are taken back out before anything is written
  if (outcome.reported < job_.min_sites || outcome.stopped) return;
  try {
    ModelFileWriter writer(store_.model_path(number), layout_);
    std::shared_ptr<const ModelFileReader> previous;
    {
      std::lock_guard<std::mutex> guard(mu_);
      previous = global_;
    }
    strategy_->update_global(*outcome.aggregator, *previous, writer,
                             store_.model_path(number) + ".mean");
    outcome.sha = writer.commit();
    strategy_->save_state(store_.strategy_state_path(number));
    // Only the newest states can be resumed from (the last round, or the one before it when the
    // last checkpoint is unusable); older ones go.
    std::error_code ignored;
    std::filesystem::remove(store_.strategy_state_path(number - 2), ignored);
    outcome.published = std::make_shared<ModelFileReader>(store_.model_path(number));
  } catch (const Error& e) {
    outcome.publish_error = e.what();
  }
}

void JobRunner::account(int number, const RoundOutcome& outcome, nlohmann::json& record) {
  std::string secure_failure;
  if (round_.secure) {
    const SecAggReport r = round_.secure->report();
    nlohmann::json excluded = nlohmann::json::object();
    for (const auto& [site, why] : r.excluded) excluded[site] = why;
    record["secure_aggregation"] = {{"masked", r.masked}, {"dropped", r.dropped},
                                    {"excluded", excluded}, {"recovered", r.succeeded}};
    if (!r.succeeded) {
      record["secure_aggregation"]["failure"] = r.failure;
      secure_failure = r.failure;
    }
  }
  if (outcome.published) {
    global_ = outcome.published;
    record["status"] = "completed";
    const PublishedRound round{number, job_.sites_per_round, roster_size()};
    for (auto& observer : observers_) observer->round_published(round, record);
    record["model"] = store_.model_path(number);
    record["model_sha256"] = outcome.sha;
    if (auto robust = std::dynamic_pointer_cast<RobustAggregator>(outcome.aggregator)) {
      // Multi-Krum: whose updates the pooled model holds (total_samples counts every report).
      const std::vector<std::string> kept = robust->krum_selection();
      if (!kept.empty()) record["multi_krum_averaged"] = kept;
    }
    if (job_.fedbn.enabled) {  // FedBN: say which batch-norm statistics the pooled model holds
      record["batch_norm"] = sends_pooled_statistics(job_spec(), number)
                                 ? "pooled from the sites' statistics this round"
                                 : "the job's initial layers; each site trains with its own";
    }
    record["total_samples"] = outcome.aggregator->committed_weight();
    return;
  }
  const bool enough = outcome.reported >= job_.min_sites && !outcome.stopped;
  record["status"] = "failed";
  record["reason"] =
      !secure_failure.empty() && enough
          ? "secure aggregation failed (nothing about any single site was revealed): " +
                secure_failure
      : !outcome.publish_error.empty()
          ? "could not publish the new global model (the previous one is intact): " +
                outcome.publish_error
      : outcome.stopped ? "stopped: " + stop_reason_
                        : std::to_string(outcome.reported) + " of " +
                              std::to_string(outcome.selected) +
                              " selected sites reported, fewer than min_sites (" +
                              std::to_string(job_.min_sites) + ")" +
                              (outcome.deadline_passed ? " by the deadline" : "");
}

uint64_t JobRunner::weight_limit(const std::string& site) const {
  auto it = sites_.find(site);
  const uint64_t joined = it == sites_.end() ? 0 : it->second.dataset_size;
  return std::max<uint64_t>(1, std::min(joined, job_.max_site_samples));
}

// --- the sites' verbs -----------------------------------------------------------------------

void JobRunner::require_joined(const std::string& site) const {
  if (!sites_.count(site)) {
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "site " + site + " has not joined; call Join first");
  }
}

JobRunner::SiteRound& JobRunner::require_assignment(const std::string& site,
                                                    const std::string& job_id, int round) {
  require_joined(site);
  if (job_id != job_.name) {
    throw Refusal(RefusalCode::kNotFound, "site " + site + " asked for job '" + job_id +
                                              "' but this coordinator runs '" + job_.name + "'");
  }
  if (round != round_.number || !round_.open) {
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "site " + site + ": round " + std::to_string(round) + " of job " + job_.name +
                      " is not open (current round " + std::to_string(round_.number) +
                      (round_.open ? ", open)" : ", closed)") + "; the update is stale");
  }
  auto it = round_.sites.find(site);
  if (it == round_.sites.end()) {
    throw Refusal(RefusalCode::kPermissionDenied, "site " + site + " was not selected for round " +
                                                      std::to_string(round) + " of job " + job_.name);
  }
  return it->second;
}

std::size_t JobRunner::roster_size() const {
  if (options_.allowed_sites.empty()) return sites_.size();
  // The listed sites, and the enrolled ones that joined this job: an approved site that never
  // came does not dilute the sampling rate privacy accounting assumes.
  std::size_t n = options_.allowed_sites.size();
  for (const auto& [name, info] : sites_) {
    n += std::find(options_.allowed_sites.begin(), options_.allowed_sites.end(), name) ==
         options_.allowed_sites.end();
  }
  return n;
}

wire::JoinReply JobRunner::join(const std::string& site, const wire::JoinRequest& request) {
  if (options_.enrollments && options_.enrollments->removed(site)) {
    throw Refusal(RefusalCode::kPermissionDenied,
                  "site " + site + " was removed from the consortium's roster by an admin; it "
                  "must enrol again (fedxray enroll) and be approved");
  }
  if (!options_.allowed_sites.empty() &&
      std::find(options_.allowed_sites.begin(), options_.allowed_sites.end(), site) ==
          options_.allowed_sites.end() &&
      !(options_.enrollments && options_.enrollments->admitted(site))) {
    throw Refusal(RefusalCode::kPermissionDenied,
                  "site " + site + " is neither listed in coordinator.sites nor enrolled; add it "
                  "there, or have it enrol (fedxray enroll) and approve it (fedxray admin approve)");
  }
  const auto& models = request.supported_models();
  const bool supports = std::find(models.begin(), models.end(), job_.model) != models.end();
  {
    std::lock_guard<std::mutex> lock(mu_);
    SiteInfo& info = sites_[site];
    info.last_seen = Clock::now();
    info.dataset_size = request.dataset_size();
    info.supports_model = supports;
    changed_.notify_all();
  }
  spdlog::info("site={} joined (version {}, {} images{})", site, request.software_version(),
               request.dataset_size(), supports ? "" : ", does not support model " + job_.model);
  wire::JoinReply reply;
  reply.set_site(site);
  reply.set_coordinator_version(kVersion);
  reply.set_heartbeat_interval_ms(
      uint32_t(std::max(200.0, std::min(10000.0, options_.heartbeat_timeout_s * 1000 / 4))));
  return reply;
}

wire::WorkReply JobRunner::get_work(const std::string& site, std::chrono::milliseconds max_wait) {
  std::unique_lock<std::mutex> lock(mu_);
  require_joined(site);
  // A waiting site must check in well within the heartbeat timeout to stay "available".
  max_wait = std::min(max_wait, std::chrono::milliseconds(
                                    int64_t(options_.heartbeat_timeout_s * 1000 / 2)));
  const auto until = Clock::now() + max_wait;
  wire::WorkReply reply;
  for (;;) {
    sites_[site].last_seen = Clock::now();
    if (finished_ && !interrupted_) {
      sites_[site].told_finished = true;
      reply.set_kind(wire::WorkReply::JOB_FINISHED);
      reply.set_message(final_message_);
      return reply;
    }
    auto it = round_.sites.find(site);
    if (round_.open && it != round_.sites.end() &&
        (it->second.state == SiteState::kSelected || it->second.state == SiteState::kTraining)) {
      reply.set_kind(wire::WorkReply::TRAIN);
      *reply.mutable_job() = job_spec();
      reply.set_round(uint32_t(round_.number));
      if (round_.secure) *reply.mutable_secure_aggregation() = round_.secure->wire_params();
      reply.set_deadline_unix_ms(
          std::chrono::duration_cast<std::chrono::milliseconds>(
              (std::chrono::system_clock::now() + (round_.deadline - Clock::now())).time_since_epoch())
              .count());
      return reply;
    }
    if (Clock::now() >= until) break;
    changed_.wait_until(lock, until);
  }
  reply.set_kind(wire::WorkReply::WAIT);
  reply.set_poll_after_ms(0);
  return reply;
}

std::shared_ptr<const ModelFileReader> JobRunner::begin_download(const std::string& site,
                                                                 const wire::ModelRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  SiteRound& s = require_assignment(site, req.job_id(), int(req.round()));
  if (s.state != SiteState::kSelected && s.state != SiteState::kTraining) {
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "site " + site + " already finished round " + std::to_string(req.round()));
  }
  if (s.state != SiteState::kTraining) {
    s.state = SiteState::kTraining;
    record_site(site, s);
  }
  sites_[site].last_seen = Clock::now();
  return global_;
}

std::unique_ptr<UploadSession> JobRunner::begin_upload(const std::string& site,
                                                       const wire::UpdateHeader& header) {
  std::lock_guard<std::mutex> lock(mu_);
  SiteRound& s = require_assignment(site, header.job_id(), int(header.round()));
  if (s.state == SiteState::kUploaded || s.state == SiteState::kUploading) {
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "site " + site + " already uploaded for round " + std::to_string(header.round()) +
                      "; a second upload for the same round is refused");
  }
  if (finished(s.state)) {
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "site " + site + " was dropped from round " + std::to_string(header.round()) +
                      " (" + s.reason + ")");
  }
  std::string problem = manifest_problem(header.manifest());
  if (problem.empty()) {
    problem = layout_difference(
        round_.secure ? round_.secure->masked_layout() : round_.update_layout, header.manifest());
  }
  if (problem.empty() && header.manifest().sha256().size() != 64) problem = "no SHA-256 given";
  if (problem.empty() && header.sample_count() == 0) problem = "sample_count is 0";
  if (problem.empty() && header.sample_count() > s.max_samples) {
    const std::string claim = "claims " + std::to_string(header.sample_count()) +
                              " samples, more than the " + std::to_string(s.max_samples) +
                              " it may weigh (the smaller of the dataset size it joined with " +
                              "and the job's max_site_samples)";
    fail_site(s, site, "refused: the update " + claim);
    changed_.notify_all();
    throw Refusal(RefusalCode::kInvalidArgument, "update from " + site + " for round " +
                                                     std::to_string(header.round()) + " " + claim);
  }
  if (!problem.empty()) {
    fail_site(s, site, "sent a malformed update: " + problem);
    changed_.notify_all();
    throw Refusal(RefusalCode::kInvalidArgument,
                  "update from " + site + " for round " + std::to_string(header.round()) +
                      " does not match the job's model: " + problem);
  }
  auto session = std::make_unique<UploadSession>();
  session->site = site;
  session->round = int(header.round());
  session->header = header;
  session->aggregator = round_.aggregator;
  try {
    session->sink = round_.aggregator->begin_update(site, double(header.sample_count()));
  } catch (const ShareableError& e) {  // e.g. a secure round without a masking plan for it
    fail_site(s, site, std::string("upload refused: ") + e.what());
    changed_.notify_all();
    throw Refusal(RefusalCode::kFailedPrecondition, "site " + site + ": " + e.what());
  } catch (const Error& e) {  // ours (e.g. the undo journal's disk): the site only learns that
    spdlog::error("job={} round={} site={}: cannot take the update: {}", job_.name, round_.number,
                  site, e.what());
    fail_site(s, site, "the coordinator could not take the update; its log has the details");
    changed_.notify_all();
    throw;
  }
  s.state = SiteState::kUploading;
  return session;
}

void JobRunner::finish_upload(UploadSession& session) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = round_.sites.find(session.site);
  if (round_.number != session.round || !round_.open || it == round_.sites.end() ||
      it->second.state != SiteState::kUploading) {
    throw Refusal(RefusalCode::kFailedPrecondition,
                  "round " + std::to_string(session.round) + " closed before the update from " +
                      session.site + " was complete; it was not counted");
  }
  try {
    session.sink->commit();
  } catch (const ShareableError& e) {  // the aggregator refused it (e.g. NaN): the site is done
    fail_site(it->second, session.site, std::string("bad update: ") + e.what());
    changed_.notify_all();
    throw Refusal(RefusalCode::kInvalidArgument, "update for round " +
                                                     std::to_string(session.round) +
                                                     " rejected: " + e.what());
  }
  it->second.state = SiteState::kUploaded;
  it->second.samples = session.header.sample_count();
  it->second.metrics = session.header.metrics();
  record_site(session.site, it->second);
  sites_[session.site].last_seen = Clock::now();
  spdlog::info("job={} round={} site={} update accepted ({} samples)", job_.name, session.round,
               session.site, session.header.sample_count());
  changed_.notify_all();
}

void JobRunner::fail_upload(const UploadSession& session, const std::string& reason) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = round_.sites.find(session.site);
  if (round_.number == session.round && it != round_.sites.end() &&
      it->second.state == SiteState::kUploading) {
    fail_site(it->second, session.site, reason);
    changed_.notify_all();
  }
}

wire::HeartbeatReply JobRunner::heartbeat(const std::string& site,
                                          const wire::HeartbeatRequest& request) {
  std::lock_guard<std::mutex> lock(mu_);
  require_joined(site);
  sites_[site].last_seen = Clock::now();
  wire::HeartbeatReply reply;
  auto it = round_.sites.find(site);
  if (!request.failure().empty() && request.job_id() == job_.name &&
      int(request.round()) == round_.number && round_.open && it != round_.sites.end() &&
      (it->second.state == SiteState::kSelected || it->second.state == SiteState::kTraining)) {
    fail_site(it->second, site, "site refused the round: " + request.failure().substr(0, 500),
              SiteState::kRefused);
    changed_.notify_all();
  }
  const bool active = request.job_id() == job_.name && int(request.round()) == round_.number &&
                      round_.open && it != round_.sites.end() &&
                      (it->second.state == SiteState::kSelected ||
                       it->second.state == SiteState::kTraining ||
                       it->second.state == SiteState::kUploading);
  reply.set_keep_going(active);
  if (!active) {
    reply.set_message(it != round_.sites.end() && finished(it->second.state) &&
                              it->second.state != SiteState::kUploaded
                          ? "dropped from this round: " + it->second.reason
                          : "round " + std::to_string(request.round()) + " is over for this site");
  }
  return reply;
}

wire::SecAggReply JobRunner::secure_step(const std::string& site, const wire::SecAggRequest& request) {
  std::shared_ptr<SecureRound> secure;
  {
    std::lock_guard<std::mutex> lock(mu_);
    require_joined(site);
    if (request.job_id() != job_.name || int(request.round()) != round_.number || !round_.secure ||
        !round_.sites.count(site)) {
      throw Refusal(RefusalCode::kFailedPrecondition,
                    "site " + site + ": no secure round " + std::to_string(request.round()) +
                        " of job '" + request.job_id() + "' for this site");
    }
    sites_[site].last_seen = Clock::now();
    secure = round_.secure;
  }
  try {
    return secure->step(site, request);  // blocks until the stage closes; mu_ not held
  } catch (const Error& e) {
    throw Refusal(RefusalCode::kFailedPrecondition, e.what());
  }
}

bool JobRunner::all_sites_told_finished() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, info] : sites_) {
    if (!info.told_finished) return false;
  }
  return true;
}

}  // namespace fedxray

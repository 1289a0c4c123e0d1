#include "coordinator/transport/admin_views.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "coordinator/round/job_queue.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/enrollment_service.h"
#include "pki/tls.h"

namespace fedxray {

admin::Job job_view(const JobRow& j) {
  admin::Job w;
  w.set_name(j.name);
  w.set_status(j.status);
  w.set_message(j.message);
  w.set_rounds(uint32_t(j.rounds));
  w.set_completed_rounds(uint32_t(j.completed_rounds));
  w.set_submitted_by(j.submitted_by);
  w.set_submitted_at(j.submitted_at);
  w.set_started_at(j.started_at);
  w.set_finished_at(j.finished_at);
  return w;
}

admin::JobStatusReply job_status_view(JobQueue& queue, StateDatabase& state,
                                      const std::string& job_name) {
  const auto row = state.job(job_name);
  if (!row) {
    throw UnknownJob("no job named '" + job_name + "'; `fedxray admin jobs` lists them");
  }
  const JobRow& job = *row;
  admin::JobStatusReply out;
  admin::JobStatusReply* reply = &out;
  *reply->mutable_job() = job_view(job);
  reply->mutable_job()->set_config_yaml(job.config_yaml);  // one job's, not every job's
  const auto rounds = state.rounds(job.name);
  double total = 0;
  int completed = 0;
  for (const auto& r : rounds) {
    auto* w = reply->add_rounds();
    w->set_round(uint32_t(r.round));
    w->set_status(r.status);
    w->set_reason(r.reason);
    w->set_seconds(r.seconds);
    w->set_model_sha256(r.model_sha256);
    if (r.record.is_object()) {
      w->set_reported(uint32_t(r.record.value("reported", 0)));
      w->set_selected(uint32_t(r.record.value("selected", 0)));
    }
    if (r.status == "completed") {
      total += r.seconds;
      ++completed;
    }
  }
  auto add_sites = [&](const auto& sites) {  // live from the runner, or as recorded
    for (const auto& s : sites) {
      auto* w = reply->add_sites();
      w->set_site(s.site);
      w->set_state(s.state);
      w->set_reason(s.reason);
    }
  };
  std::shared_ptr<JobRunner> runner = queue.current();
  if (job.status == "running" && runner && runner->job().name == job.name) {
    const JobProgress p = runner->progress();
    if (!p.finished) reply->set_current_round(uint32_t(p.round));
    add_sites(runner->round_sites());
  } else if (!rounds.empty()) {
    add_sites(state.site_rounds(job.name, rounds.back().round));
  }
  reply->set_seconds_per_round(completed ? total / completed : 0);
  const bool live = job.status == "running" || job.status == "queued";
  reply->set_estimated_seconds_left(!live ? 0
                                    : completed
                                        ? (job.rounds - job.completed_rounds) * (total / completed)
                                        : -1);
  return out;
}

admin::ListSitesReply site_registry_view(StateDatabase& state, const EnrollmentDesk* enrollment,
                                         double heartbeat_timeout_s) {
  admin::ListSitesReply out;
  admin::ListSitesReply* reply = &out;
  std::vector<std::string> seen;
  for (const auto& s : state.sites()) {
    seen.push_back(s.name);
    auto* w = reply->add_sites();
    w->set_name(s.name);
    w->set_connected(seen_within(s, heartbeat_timeout_s));
    w->set_first_seen(s.first_seen);
    w->set_last_seen(s.last_seen);
    w->set_version(s.version);
    w->set_certificate_sha256(s.fingerprint);
    if (s.certificate_not_after) {
      w->set_certificate_not_after(s.certificate_not_after);
      w->set_certificate_days_left(days_until(s.certificate_not_after));
      w->set_certificate_renewal_due(days_until(s.certificate_not_after) < kCertificateRenewalDays);
    }
  }
  // Enrolled sites that have not connected yet: on the roster all the same.
  if (enrollment) {
    for (const auto& e : enrollment->book->list()) {
      if (e.status != "approved" || std::count(seen.begin(), seen.end(), e.name)) continue;
      auto* w = reply->add_sites();
      w->set_name(e.name);
      w->set_certificate_sha256(certificate_fingerprint(e.certificate_pem));
      w->set_certificate_not_after(e.certificate_not_after);
      w->set_certificate_days_left(days_until(e.certificate_not_after));
      w->set_certificate_renewal_due(days_until(e.certificate_not_after) < kCertificateRenewalDays);
    }
  }
  return out;
}

int downloadable_round(StateDatabase& state, const std::string& job, int requested) {
  if (!state.job(job)) {
    throw UnknownJob("no job named '" + job + "'; `fedxray admin jobs` lists them");
  }
  int round = 0;
  for (const auto& r : state.rounds(job)) {
    if (r.status != "completed") continue;
    if (requested > 0 ? r.round == requested : r.round > round) round = r.round;
  }
  if (round == 0 || (requested > 0 && round != requested)) {
    throw Error(requested > 0 ? "round " + std::to_string(requested) + " of job " + job +
                                    " has not completed; `fedxray admin status " + job +
                                    "` lists the completed rounds"
                              : "job " + job + " has no completed round yet");
  }
  return round;
}

ExportedModel::ExportedModel(
    const std::string& state_dir, const std::string& job, int round,
    const std::function<void(const std::string& fxm, const std::string& pt)>& export_torchscript) {
  static std::atomic<uint64_t> counter{0};
  const CheckpointStore store(state_dir, job);
  const std::filesystem::path exports = std::filesystem::path(store.dir()) / "exports";
  std::filesystem::create_directories(exports);
  path_ = (exports / ("round-" + std::to_string(round) + "-" + std::to_string(::getpid()) + "-" +
                      std::to_string(++counter) + ".pt"))
              .string();
  try {
    export_torchscript(store.model_path(round), path_);
  } catch (...) {
    std::filesystem::remove(path_);
    throw;
  }
}

ExportedModel::~ExportedModel() {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

}  // namespace fedxray

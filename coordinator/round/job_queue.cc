#include "coordinator/round/job_queue.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/state_database.h"

namespace fedxray {

JobQueue::JobQueue(std::shared_ptr<StateDatabase> state, std::shared_ptr<AuditLog> audit,
                   RunnerFactory make_runner)
    : state_(std::move(state)), audit_(std::move(audit)), make_runner_(std::move(make_runner)) {}

std::string JobQueue::submit(const std::string& yaml, const std::string& source,
                             const std::string& actor) {
  const JobConfig job = parse_job_config(yaml, source);
  state_->add_job(job.name, yaml, job.rounds, actor);
  spdlog::info("job={} queued by {}", job.name, actor);
  changed_.notify_all();
  return job.name;
}

void JobQueue::abort(const std::string& job, const std::string& actor) {
  auto row = state_->job(job);
  if (!row) {
    throw Error("no job named '" + job + "'; `fedxray admin jobs` lists them");
  }
  if (row->status != "queued" && row->status != "running") {
    throw Error("job '" + job + "' has already ended (" + row->status + ")");
  }
  std::shared_ptr<JobRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_.insert(job);
    if (current_job_ == job) runner = current_;
  }
  if (runner) {
    runner->stop("aborted by " + actor);
  } else {
    state_->set_job_status(job, "aborted", "aborted by " + actor + " before it started");
  }
  spdlog::warn("job={} aborted by {}", job, actor);
  changed_.notify_all();
}

void JobQueue::shutdown(const std::string& why) {
  std::shared_ptr<JobRunner> runner;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutting_down_ = true;
    runner = current_;
  }
  if (runner) runner->interrupt(why);
  changed_.notify_all();
}

std::shared_ptr<JobRunner> JobQueue::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

bool JobQueue::run(const std::string& until_job) {
  bool last_ok = false;
  for (;;) {
    if (!until_job.empty()) {
      auto row = state_->job(until_job);
      if (!row) throw Error("no job named '" + until_job + "' in " + state_->path());
      if (row->status != "queued" && row->status != "running") {
        std::lock_guard<std::mutex> lock(mu_);
        if (current_job_ != until_job) {
          spdlog::info("job={} had already ended: {} ({})", until_job, row->status, row->message);
        }
        return row->status == "completed";
      }
    }
    std::optional<JobRow> next;
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (shutting_down_) return last_ok;
      next = state_->next_job();
      if (!next) {
        changed_.wait_for(lock, std::chrono::milliseconds(500));
        continue;
      }
    }
    const bool resuming = next->status == "running";
    std::shared_ptr<JobRunner> runner;
    try {
      JobConfig job = parse_job_config(next->config_yaml, "job '" + next->name + "' as submitted");
      state_->set_job_status(next->name, "running", resuming ? "resumed" : "");
      runner = make_runner_(job);
    } catch (const std::exception& e) {
      state_->set_job_status(next->name, "failed", std::string("could not start: ") + e.what());
      audit_->record("coordinator", "start", "job " + next->name, "failed", e.what());
      spdlog::error("job={} could not start: {}", next->name, e.what());
      continue;
    }
    audit_->record("coordinator", resuming ? "resume" : "start", "job " + next->name, "ok",
           resuming ? "after round " + std::to_string(runner->resumed_from()) : "");
    {
      std::lock_guard<std::mutex> lock(mu_);
      current_ = runner;
      current_job_ = next->name;
      if (shutting_down_) runner->interrupt("coordinator shutting down");
      if (aborted_.count(next->name)) runner->stop("aborted");
    }
    changed_.notify_all();
    const bool ok = runner->run();
    if (runner->interrupted()) {
      audit_->record("coordinator", "interrupt", "job " + next->name, "ok",
                     runner->progress().message);
      return false;
    }
    bool aborted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      aborted = aborted_.count(next->name) > 0;
    }
    const std::string status = ok ? "completed" : aborted ? "aborted" : "failed";
    const std::string message = runner->progress().message;
    state_->set_job_status(next->name, status, message);
    audit_->record("coordinator", "finish", "job " + next->name, status, message);
    if (finished_) {
      try {
        finished_(*runner, ok);
      } catch (const std::exception& e) {
        spdlog::error("job={} after-job step failed: {}", next->name, e.what());
      }
    }
    last_ok = ok;
  }
}

}  // namespace fedxray

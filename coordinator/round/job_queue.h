// JobQueue: runs the consortium's jobs one after another, in the order they were submitted, as
// recorded in the state database. A job left "running" by a coordinator that was stopped or
// killed is resumed first (JobRunner picks up after its last completed round).
//
// The runner of the job being served stays current after the job ends, so its sites hear that
// it finished, until the next job starts. Thread-safe: submit/abort/current from any thread,
// run() on one.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "config/job_config.h"

namespace fedxray {

class AuditLog;
class JobRunner;
class StateDatabase;

class JobQueue {
 public:
  using RunnerFactory = std::function<std::shared_ptr<JobRunner>(const JobConfig&)>;
  using FinishedCallback = std::function<void(JobRunner&, bool completed)>;

  // `audit` (required) records each job's start, resume, interruption and end.
  JobQueue(std::shared_ptr<StateDatabase> state, std::shared_ptr<AuditLog> audit,
           RunnerFactory make_runner);

  // submit() and abort() leave auditing to their caller (the admin API audits every call).
  // Validates job YAML text (a ConfigError names `source`, the key and the line), queues it and
  // returns its name. Throws Error if a job of that name exists.
  std::string submit(const std::string& yaml, const std::string& source, const std::string& actor);
  // A queued job is marked aborted; the running one stops now (its round fails cleanly and the
  // last good model stays). Throws Error for an unknown or already ended job.
  void abort(const std::string& job, const std::string& actor);
  // Runs jobs until shutdown(). With `until_job`, returns once that job has ended (at once if it
  // had ended before). Returns whether the last job run completed.
  bool run(const std::string& until_job = "");
  // Interrupts the running job, leaving it resumable, and makes run() return.
  void shutdown(const std::string& why);
  std::shared_ptr<JobRunner> current() const;
  void on_job_finished(FinishedCallback callback) { finished_ = std::move(callback); }

 private:
  std::shared_ptr<StateDatabase> state_;
  std::shared_ptr<AuditLog> audit_;
  RunnerFactory make_runner_;
  FinishedCallback finished_;
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::shared_ptr<JobRunner> current_;
  std::string current_job_;
  std::set<std::string> aborted_;
  bool shutting_down_ = false;
};

}  // namespace fedxray

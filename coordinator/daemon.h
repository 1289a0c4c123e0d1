// CoordinatorDaemon: the coordinator's composition root. It opens the durable state and the
// audit log, builds the job queue, the admin service and the gates (state, audit, revocation),
// opens the port with all of them in place, serves Prometheus metrics when configured, and runs
// jobs: one given job (then it waits a grace period so sites hear it is over), or every job
// admins submit until stop() (a signal).
//
// The model code (LibTorch) lives above the coordinator, so the command that starts the daemon
// hands in how to make a job's initial model and how to export a TorchScript copy. Everything
// else the daemon builds itself. run() on one thread; stop() from any (e.g. a signal handler).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/coordinator_config.h"
#include "config/job_config.h"
#include "wire/model_blob.h"

namespace fedxray {

class JobQueue;

struct DaemonSettings {
  CoordinatorConfig config;
  std::string job_path;       // a job file to run (or resume); empty: serve submitted jobs
  bool serve = false;         // with job_path: keep serving after it ends
  double finish_grace_s = 15;  // after the job ends, how long to wait until sites heard so
  std::function<ModelBlob(const JobConfig&)> initial_model;
  std::function<void(const std::string& fxm, const std::string& torchscript)> export_torchscript;
  // Called once the queue exists, before any other thread starts: installs the stop handler
  // (the CLI's blocks SIGINT/SIGTERM process-wide, so it must come first).
  std::function<void(std::function<void()> stop)> install_stop_handler;
};

struct DaemonOutcome {
  std::string job;        // the --job's name; empty when the daemon served submitted jobs
  bool completed = false;
  std::string status;     // the job's recorded status ("completed", "running" = interrupted, ...)
  std::string message;
  std::string metrics_path, pooled_path, torchscript_path;
};

// Runs until the given job ends or, serving, until the stop handler fires.
DaemonOutcome run_coordinator_daemon(const DaemonSettings& settings);

}  // namespace fedxray

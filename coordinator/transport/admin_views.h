// What an admin sees, assembled once for every admin front end: the gRPC admin API
// (admin_service.h) and the web console (console_server.h) answer with the same views, in the
// admin protocol's messages (proto/admin.proto), so `fedxray admin --json status` and the
// console's live round show the same thing.
#pragma once

#include <functional>
#include <string>

#include "base/error.h"
#include "fedxray/proto/admin.pb.h"

namespace fedxray {

class JobQueue;
class StateDatabase;
struct EnrollmentDesk;
struct JobRow;

// No job of that name (the caller answers NOT_FOUND).
class UnknownJob : public Error {
 public:
  using Error::Error;
};

admin::Job job_view(const JobRow& row);

// One job: its record and submitted configuration, every round, the current round (live from
// the running job) with each selected site's state and reason, time per round and time left.
admin::JobStatusReply job_status_view(JobQueue& queue, StateDatabase& state,
                                      const std::string& job);

// The site registry: every site that joined (connected = heard from within
// `heartbeat_timeout_s`), certificate fingerprint and expiry, and enrolled sites that have not
// connected yet (`enrollment` may be null).
admin::ListSitesReply site_registry_view(StateDatabase& state, const EnrollmentDesk* enrollment,
                                         double heartbeat_timeout_s);

// The round whose model a download gets: `round` if it completed, or the last completed round
// when `round` <= 0. Throws UnknownJob, or Error saying the round has not completed.
int downloadable_round(StateDatabase& state, const std::string& job, int round);

// Round `round` of `job` exported as TorchScript (by `export_torchscript`, which the torch-free
// coordinator is handed) into a file of its own under the job's folder, removed again when this
// goes out of scope.
class ExportedModel {
 public:
  ExportedModel(
      const std::string& state_dir, const std::string& job, int round,
      const std::function<void(const std::string& fxm, const std::string& pt)>& export_torchscript);
  ~ExportedModel();
  ExportedModel(const ExportedModel&) = delete;
  ExportedModel& operator=(const ExportedModel&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace fedxray

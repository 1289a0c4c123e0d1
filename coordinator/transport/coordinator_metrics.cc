#include "coordinator/transport/coordinator_metrics.h"

#include <chrono>

#include "coordinator/round/job_queue.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/state_database.h"
#include "coordinator/transport/coordinator_service.h"
#include "ops/metrics_endpoint.h"

namespace fedxray {
namespace {

std::vector<std::pair<std::string, double>> by_label(const std::map<std::string, int64_t>& counts,
                                                     const std::string& label) {
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [value, n] : counts) out.push_back({label + "=\"" + value + "\"", double(n)});
  return out;
}

}  // namespace

std::string render_coordinator_metrics(const StateDatabase& state, const JobQueue& queue,
                                       const CoordinatorService& service,
                                       double heartbeat_timeout_s) {
  std::string out;
  append_metric(out, "fedxray_up", "gauge", "1 while the coordinator serves", {{"", 1}});
  append_metric(out, "fedxray_jobs", "gauge", "Jobs by status", by_label(state.count_by("jobs"), "status"));
  append_metric(out, "fedxray_rounds_total", "counter", "Rounds by outcome, all jobs",
                by_label(state.count_by("rounds"), "status"));
  append_metric(out, "fedxray_site_rounds_total", "counter",
                "Each selected site's part in a round, by final state",
                by_label(state.count_by("site_rounds"), "state"));
  double round = 0;
  std::string job;
  if (auto runner = queue.current()) {
    const JobProgress p = runner->progress();
    if (!p.finished) {
      round = p.round;
      job = runner->job().name;
    }
  }
  append_metric(out, "fedxray_current_round", "gauge", "Round being run now (0: none)",
                {{job.empty() ? "" : "job=\"" + job + "\"", round}});
  double connected = 0, known = 0;
  std::vector<std::pair<std::string, double>> expiry;
  const double now = double(std::chrono::duration_cast<std::chrono::seconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());
  for (const auto& s : state.sites()) {
    ++known;
    connected += seen_within(s, heartbeat_timeout_s);
    if (s.certificate_not_after) {
      expiry.emplace_back("site=\"" + s.name + "\"", double(s.certificate_not_after) - now);
    }
  }
  if (!expiry.empty()) {
    append_metric(out, "fedxray_site_certificate_expiry_seconds", "gauge",
                  "Seconds until each site's certificate expires (alert below 30 days)", expiry);
  }
  append_metric(out, "fedxray_sites_connected", "gauge", "Sites heard from within the heartbeat timeout",
                {{"", connected}});
  append_metric(out, "fedxray_sites_known", "gauge", "Sites that ever joined", {{"", known}});
  const CoordinatorService::Counters c = service.counters();
  append_metric(out, "fedxray_update_bytes_received_total", "counter",
                "Update bytes received from sites", {{"", double(c.update_bytes_received)}});
  append_metric(out, "fedxray_model_bytes_sent_total", "counter", "Model bytes sent to sites",
                {{"", double(c.model_bytes_sent)}});
  append_metric(out, "fedxray_refused_calls_total", "counter",
                "Site calls refused (certificate, revocation, stale or malformed update)",
                {{"", double(c.refused_calls)}});
  return out;
}

}  // namespace fedxray

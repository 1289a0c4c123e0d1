// The coordinator's monitoring figures in Prometheus text format, read at each scrape from the
// state database, the job being run and the transport's running totals.
#pragma once

#include <string>

namespace fedxray {

class CoordinatorService;
class JobQueue;
class StateDatabase;

std::string render_coordinator_metrics(const StateDatabase& state, const JobQueue& queue,
                                       const CoordinatorService& service,
                                       double heartbeat_timeout_s);

}  // namespace fedxray

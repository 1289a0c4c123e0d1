// MetricsEndpoint: a local HTTP port for monitoring, off unless configured.
//
//   GET /metrics   Prometheus text format (version 0.0.4), made by `render` at each scrape
//   GET /healthz   "ok"
//
// `listen` is "address:port" (port 0 picks a free one); give a loopback address unless the
// monitoring host must reach it from elsewhere. Serves on its own thread until destroyed.
// Throws Error naming `config_key` if it cannot bind.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace httplib {
class Server;
}

namespace fedxray {

class MetricsEndpoint {
 public:
  MetricsEndpoint(const std::string& listen, const std::string& config_key,
                  std::function<std::string()> render);
  ~MetricsEndpoint();
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// Appends one metric family in Prometheus text format: "# HELP", "# TYPE" and one sample per
// entry of `samples` (label text such as `status="completed"`, or "" for none).
void append_metric(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help,
                   const std::vector<std::pair<std::string, double>>& samples);

}  // namespace fedxray

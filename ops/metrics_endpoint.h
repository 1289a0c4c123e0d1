// MetricsEndpoint: a local HTTP port for monitoring, off unless configured.
//
//   GET /metrics   Prometheus text format (version 0.0.4), made by `render` at each scrape
//   GET /healthz   "ok"
//
// `listen` is "address:port" (port 0 picks a free one). Only a loopback address (127.0.0.0/8,
// ::1, localhost) is accepted unless `security.allow_remote` is set; with `security.certificate`
// the endpoint speaks TLS and requires a client certificate from `security.client_ca` (e.g. the
// consortium CA, so a scraper needs a kit). Serves on its own thread until destroyed.
// Throws Error naming `config_key` if the address or port does not parse, is not allowed, or
// cannot be bound.
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

struct MetricsSecurity {
  bool allow_remote = false;  // serve on a non-loopback address
  std::string certificate;    // PEM files; empty certificate = plain HTTP
  std::string private_key;
  std::string client_ca;      // clients must present a certificate from this CA
};

class MetricsEndpoint {
 public:
  MetricsEndpoint(const std::string& listen, const std::string& config_key,
                  std::function<std::string()> render, const MetricsSecurity& security = {});
  ~MetricsEndpoint();
  int port() const { return port_; }

 private:
  std::unique_ptr<httplib::Server> server_;
  int port_ = 0;
  std::thread thread_;
};

// Appends one metric family in Prometheus text format: "# HELP", "# TYPE" and one sample per
// entry of `samples` (label text such as `status="completed"`, or "" for none). Whole numbers
// print as integers (1234567890, not 1.23457e+09), others with full precision.
void append_metric(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help,
                   const std::vector<std::pair<std::string, double>>& samples);

}  // namespace fedxray

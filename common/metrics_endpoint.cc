#include "common/metrics_endpoint.h"

#include <httplib.h>

#include <sys/socket.h>

#include <chrono>
#include <sstream>

#include "common/error.h"

namespace fedxray {

MetricsEndpoint::MetricsEndpoint(const std::string& listen, const std::string& config_key,
                                 std::function<std::string()> render)
    : server_(std::make_unique<httplib::Server>()) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    throw Error(config_key + " must be address:port, e.g. 127.0.0.1:9464 (got \"" + listen + "\")");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const int port = std::atoi(listen.substr(colon + 1).c_str());
  // SO_REUSEADDR only: with httplib's default SO_REUSEPORT a second process could share the port.
  server_->set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, reinterpret_cast<const void*>(&yes), sizeof(yes));
  });
  server_->Get("/metrics", [render](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4");
  });
  server_->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  port_ = port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    throw Error("cannot serve metrics on " + listen + " (" + config_key +
                "): is the port in use or the address wrong?");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() only ends a server that is already listening: wait for it.
  for (int i = 0; i < 500 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

MetricsEndpoint::~MetricsEndpoint() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

void append_metric(std::string& out, const std::string& name, const std::string& type,
                   const std::string& help,
                   const std::vector<std::pair<std::string, double>>& samples) {
  std::ostringstream s;
  s << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  for (const auto& [labels, value] : samples) {
    s << name;
    if (!labels.empty()) s << "{" << labels << "}";
    s << " " << value << "\n";
  }
  out += s.str();
}

}  // namespace fedxray

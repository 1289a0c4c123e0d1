#include "ops/metrics_endpoint.h"

#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <sstream>

#include "base/error.h"

namespace fedxray {

namespace {

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr v4{};
  return ::inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127;
}

std::unique_ptr<httplib::Server> make_server(const std::string& config_key,
                                             const MetricsSecurity& security) {
  if (security.certificate.empty()) return std::make_unique<httplib::Server>();
  auto server = std::make_unique<httplib::SSLServer>(
      security.certificate.c_str(), security.private_key.c_str(), security.client_ca.c_str());
  if (!server->is_valid()) {
    throw Error("cannot serve metrics over TLS (" + config_key + "): the certificate " +
                security.certificate + ", its key or the client CA " + security.client_ca +
                " could not be loaded");
  }
  return server;
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(const std::string& listen, const std::string& config_key,
                                 std::function<std::string()> render,
                                 const MetricsSecurity& security)
    : server_(make_server(config_key, security)) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    throw Error(config_key + " must be address:port, e.g. 127.0.0.1:9464 (got \"" + listen + "\")");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const std::string port_text = listen.substr(colon + 1);
  int port = -1;
  if (!port_text.empty() && port_text.size() <= 5 &&
      port_text.find_first_not_of("0123456789") == std::string::npos) {
    port = std::stoi(port_text);
  }
  if (port < 0 || port > 65535) {
    throw Error(config_key + ": the port of \"" + listen + "\" is not a number from 0 to 65535");
  }
  if (!security.allow_remote && !is_loopback(host)) {
    throw Error(config_key + " is " + listen + ", which is not a loopback address: metrics would " +
                "be readable from the network. Use 127.0.0.1, or set metrics_allow_remote: true " +
                "(best with metrics_tls: true)");
  }
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
    s << " ";
    if (std::isfinite(value) && value == std::floor(value) && std::fabs(value) < 9.0e15) {
      s << int64_t(value);
    } else {
      s << std::setprecision(17) << value;
    }
    s << "\n";
  }
  out += s.str();
}

}  // namespace fedxray

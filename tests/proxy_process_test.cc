// A hospital that lets traffic out only through an HTTP proxy: real `fedxray` processes and a
// real Debian tinyproxy on 127.0.0.1, configured as a hospital would (Basic authentication,
// CONNECT allowed only to the coordinator's port). The site agents' mutual TLS runs inside the
// CONNECT tunnel; the proxy refusing them, and going away mid-job, are named in their logs.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "base/atomic_file.h"
#include "tests/process_consortium.h"
#include "tests/process_support.h"
#include "tests/test_support.h"

#include "tests/skip_test.h"

using namespace fedxray;
using namespace fedxray::testing;
using namespace std::chrono_literals;

namespace {

constexpr const char* kTinyproxy = "/usr/bin/tinyproxy";
constexpr const char* kProxyUser = "fedxray";
constexpr const char* kProxyPassword = "pw-4-tunnel";

bool accepts_connections(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(uint16_t(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// tinyproxy in the foreground with its log in a file; stop() kills it like a crash would.
class Tinyproxy {
 public:
  Tinyproxy(const std::string& dir, int coordinator_port)
      : dir_(dir), port_(free_loopback_port()) {
    write_file_atomically(dir_ + "/tinyproxy.conf",
                          "Port " + std::to_string(port_) + "\nListen 127.0.0.1\nTimeout 60\n"
                          "MaxClients 20\nAllow 127.0.0.1\nLogLevel Connect\n"
                          "ConnectPort " + std::to_string(coordinator_port) + "\n"
                          "BasicAuth " + kProxyUser + " " + kProxyPassword + "\n");
    start();
  }
  void start() {
    process_ = std::make_unique<Process>(
        kTinyproxy, std::vector<std::string>{"-d", "-c", dir_ + "/tinyproxy.conf"},
        dir_ + "/tinyproxy.log");
    for (int i = 0; i < 250 && !accepts_connections(port_); ++i) std::this_thread::sleep_for(20ms);
    REQUIRE(accepts_connections(port_));
  }
  void stop() {
    process_->kill(SIGKILL);
    process_->wait(10);
    process_.reset();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // CONNECT requests the proxy received to `target` since it was first started.
  int connects_to(const std::string& target) const {
    const std::string log = read_file(dir_ + "/tinyproxy.log");
    const std::string needle = "CONNECT " + target;
    int n = 0;
    for (std::size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

 private:
  std::string dir_;
  int port_;
  std::unique_ptr<Process> process_;
};

// Points a kit's site.yaml at the proxy with a credentials file (mode `mode`).
void use_proxy(const Consortium& c, const std::string& site, const Tinyproxy& proxy,
               const std::string& credentials, int mode = 0600) {
  const std::string kit = c.kits() + "/" + site;
  write_file_atomically(kit + "/proxy.credentials", credentials + "\n", mode);
  std::ofstream(kit + "/site.yaml", std::ios::app)
      << "\n  proxy:\n    url: " << proxy.url() << "\n    credentials_file: proxy.credentials\n";
}

// Sets an environment variable for the processes started while it lives.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() { ::unsetenv(name_); }

 private:
  const char* name_;
};

}  // namespace

TEST_CASE("sites behind a hospital HTTP proxy (real tinyproxy, Basic auth) train through CONNECT "
          "tunnels, and the job survives the proxy dying mid-job", "[proxy]") {
  if (::access(kTinyproxy, X_OK) != 0) {
    FEDXRAY_SKIP("tinyproxy is not installed; ./scripts/setup.sh installs it");
  }
  Consortium c;
  Tinyproxy proxy(c.dir.path, c.port);
  // site-a from its site file; site-b from https_proxy, with the user in the URL
  use_proxy(c, "site-a", proxy, std::string(kProxyUser) + ":" + kProxyPassword);
  Process coordinator(c.coordinator_args(c.write_job("tunnelled", 6)), c.dir.path + "/coordinator.log");
  Process site_a(c.site_args("site-a"), c.dir.path + "/site-a.log");
  std::unique_ptr<Process> site_b;
  {
    const std::string auth = std::string(kProxyUser) + ":" + kProxyPassword + "@";
    ScopedEnv env("https_proxy", "http://" + auth + proxy.url().substr(7));
    site_b = std::make_unique<Process>(c.site_args("site-b"), c.dir.path + "/site-b.log");
  }
  REQUIRE(wait_for_rounds(c.state_dir(), "tunnelled",
                          [](const std::vector<RoundRow>& r) { return completed(r) >= 2; }, 180));
  const int before = proxy.connects_to(c.target());
  CHECK(before >= 2);  // one tunnel per site at least
  // The proxy crashes and comes back on the same port a few seconds later.
  proxy.stop();
  std::this_thread::sleep_for(3s);
  proxy.start();
  REQUIRE(coordinator.wait(300) == 0);
  CHECK(site_a.wait(30) == 0);
  CHECK(site_b->wait(30) == 0);
  CHECK(proxy.connects_to(c.target()) > before);  // they came back through the proxy

  StateDatabase db(c.state_dir());
  const auto rounds = db.rounds("tunnelled");
  CHECK(completed(rounds) == 6);
  const std::string log_a = read_file(c.dir.path + "/site-a.log");
  const std::string log_b = read_file(c.dir.path + "/site-b.log");
  CHECK_THAT(log_a, Catch::Contains("through the HTTP proxy " + proxy.url() + " (as user fedxray)"));
  CHECK_THAT(log_b, Catch::Contains("through the HTTP proxy " + proxy.url() + " (as user fedxray)"));
  CHECK(log_a.find(kProxyPassword) == std::string::npos);
  CHECK(log_b.find(kProxyPassword) == std::string::npos);
}

TEST_CASE("a proxy that refuses the site, one that is not there and a readable credentials file "
          "are each reported naming site.proxy", "[proxy]") {
  if (::access(kTinyproxy, X_OK) != 0) {
    FEDXRAY_SKIP("tinyproxy is not installed; ./scripts/setup.sh installs it");
  }
  Consortium c;
  Tinyproxy proxy(c.dir.path, c.port);
  Process coordinator(c.coordinator_args(""), c.dir.path + "/coordinator.log");
  std::vector<std::string> args = c.site_args("site-a");
  args.back() = "4";  // --give-up-after

  use_proxy(c, "site-a", proxy, std::string(kProxyUser) + ":wrong-password");
  std::string out;
  CHECK(run_fedxray(args, out) == 2);
  CHECK_THAT(out, Catch::Contains("cannot reach the coordinator through the HTTP proxy " +
                                  proxy.url() + " (as user fedxray)") &&
                      Catch::Contains("check site.proxy"));
  CHECK(proxy.connects_to(c.target()) >= 1);  // it did ask the proxy

  write_file_atomically(c.kits() + "/site-a/proxy.credentials",
                        std::string(kProxyUser) + ":" + kProxyPassword, 0644);
  CHECK(run_fedxray(args, out) == 2);
  CHECK_THAT(out, Catch::Contains("site.proxy.credentials_file") && Catch::Contains("chmod 600"));

  write_file_atomically(c.kits() + "/site-a/proxy.credentials",
                        std::string(kProxyUser) + ":" + kProxyPassword, 0600);
  proxy.stop();
  CHECK(run_fedxray(args, out) == 2);
  CHECK_THAT(out, Catch::Contains("cannot reach the coordinator through the HTTP proxy") &&
                      Catch::Contains("check site.proxy"));
  coordinator.kill(SIGTERM);
  coordinator.wait(30);
}

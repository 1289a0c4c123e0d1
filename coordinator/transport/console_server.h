// ConsoleServer: the coordinator's web console for admins and researchers, over HTTPS on its own
// port (coordinator.console_listen; off by default).
//
// Who: the browser's client certificate from the consortium CA, checked on every request (and
// against the revocation list when one is watched); the role comes from its OU. Admins see and do
// everything the admin CLI does; researchers read jobs, their live state, curves and privacy, and
// download pooled models; a site certificate, no certificate or a revoked one gets a 403 page
// saying why. Every action (submit, abort, approve, reject, download) is an audit record naming
// the certificate's subject, like the admin API's.
//
// What: jobs (submit a job file, whose validation errors name file:line; the queue; abort), a
// job's live round (each site's state and reason, progress, time left, refreshed without a
// reload), learning curves and privacy spent per site and round, every round's model SHA-256,
// the site registry, the enrolment queue, the audit log with its chain verified, and pooled
// model download with its SHA-256.
//
// Offline by design: every page, style and the one script are served from here, and a Content
// Security Policy forbids any other origin; charts are SVG drawn by the server. Forms only
// accept POSTs whose Origin is the console itself.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace httplib {
class SSLServer;
}

namespace fedxray {

class AuditLog;
class JobQueue;
class RevocationWatcher;
class StateDatabase;
struct EnrollmentDesk;

struct ConsoleOptions {
  std::string listen;       // address:port (port 0 picks a free one)
  std::string certificate;  // the coordinator's, which browsers check against the CA
  std::string private_key;
  std::string ca_certificate;  // the consortium CA: client certificates must come from it
  std::string state_dir;
  double heartbeat_timeout_s = 60;
  std::function<void(const std::string& fxm, const std::string& pt)> export_torchscript;
};

class ConsoleServer {
 public:
  ConsoleServer(ConsoleOptions options, JobQueue& queue, std::shared_ptr<StateDatabase> state,
                std::shared_ptr<AuditLog> audit, std::shared_ptr<const EnrollmentDesk> enrollment,
                std::shared_ptr<RevocationWatcher> revocation);
  ~ConsoleServer();
  ConsoleServer(const ConsoleServer&) = delete;
  ConsoleServer& operator=(const ConsoleServer&) = delete;
  int port() const { return port_; }
  void shutdown();

 private:
  struct Routes;
  std::unique_ptr<httplib::SSLServer> server_;
  std::unique_ptr<Routes> routes_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace fedxray

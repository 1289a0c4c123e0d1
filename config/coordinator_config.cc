#include "config/coordinator_config.h"

#include <algorithm>
#include <filesystem>

#include "config/config_reader.h"
#include "config/participant_name.h"

namespace fedxray {

CoordinatorConfig load_coordinator_config(const std::string& file) {
  ConfigReader root = ConfigReader::load_file(file);
  ConfigReader r = root.section("coordinator");
  CoordinatorConfig c;
  c.listen = r.string("listen", c.listen);
  if (c.listen.find(':') == std::string::npos) {
    r.fail("listen", "must be address:port, e.g. 0.0.0.0:50051 (got \"" + c.listen + "\")");
  }
  c.certificate = r.path("certificate");
  c.private_key = r.path("private_key");
  c.ca_certificate = r.path("ca_certificate");
  c.state_dir = r.path("state_dir", c.state_dir);
  c.sites = r.string_list("sites", std::vector<std::string>{});
  for (const auto& s : c.sites) {
    if (!is_valid_participant_name(s)) {
      r.fail("sites", "holds \"" + s + "\", which is not a valid site name (lower-case letters, "
                      "digits and '-')");
    }
  }
  c.heartbeat_timeout_s = r.number("heartbeat_timeout_s", 1, 86400, c.heartbeat_timeout_s);
  c.revocation_list = r.path("revocation_list", std::string());
  c.audit_key = r.path("audit_key", std::string("audit-head.key"));
  // fs::absolute() throws on an empty path, and neither may be empty anyway.
  if (c.state_dir.empty()) r.fail("state_dir", "must not be empty, e.g. state_dir: state");
  if (c.audit_key.empty()) r.fail("audit_key", "must not be empty, e.g. audit_key: audit-head.key");
  {
    namespace fs = std::filesystem;
    const fs::path key = fs::absolute(c.audit_key).lexically_normal();
    const fs::path state = fs::absolute(c.state_dir).lexically_normal();
    const auto [diverge, ignored] = std::mismatch(state.begin(), state.end(), key.begin(), key.end());
    if (diverge == state.end()) {
      r.fail("audit_key", "is inside state_dir (" + c.state_dir + "): whoever can rewrite the "
                          "state could then also re-sign the audit log. Keep it beside the "
                          "coordinator's certificate, e.g. audit_key: audit-head.key");
    }
  }
  read_metrics_keys(r, "127.0.0.1:9464", c.metrics_listen, c.metrics_allow_remote, c.metrics_tls);
  c.enrollment_listen = r.string("enrollment_listen", std::string());
  if (!c.enrollment_listen.empty() && c.enrollment_listen.find(':') == std::string::npos) {
    r.fail("enrollment_listen", "must be address:port, e.g. \"0.0.0.0:50052\" (got \"" +
                                    c.enrollment_listen + "\")");
  }
  c.ca_private_key = r.path("ca_private_key", std::string());
  c.console_listen = r.string("console_listen", std::string());
  if (!c.console_listen.empty() && c.console_listen.find(':') == std::string::npos) {
    r.fail("console_listen", "must be address:port, e.g. \"0.0.0.0:8443\" (got \"" +
                                 c.console_listen + "\")");
  }
  c.enrollment_validity_days =
      int(r.integer("enrollment_validity_days", 1, 3650, c.enrollment_validity_days));
  r.finish();
  root.finish();
  return c;
}

}  // namespace fedxray

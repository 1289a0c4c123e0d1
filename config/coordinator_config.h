// CoordinatorConfig: the coordinator's settings, read from the `coordinator:` mapping of its YAML
// file (written into its startup kit by `fedxray provision`).
#pragma once

#include <string>
#include <vector>

namespace fedxray {

struct CoordinatorConfig {
  std::string listen = "0.0.0.0:50051";
  std::string certificate;
  std::string private_key;
  std::string ca_certificate;
  std::string state_dir = "state";     // checkpoints and metrics.jsonl go under <state_dir>/<job>
  std::vector<std::string> sites;      // certificate names allowed to join; empty = any the CA signed
  double heartbeat_timeout_s = 60;     // a selected site silent this long is marked failed
  std::string revocation_list;         // CRL from `fedxray provision --revoke`; re-read on change
  std::string audit_key;               // HMAC key of the audit log's head; outside state_dir
  std::string metrics_listen;          // Prometheus /metrics and /healthz; empty = off
  bool metrics_allow_remote = false;   // metrics_listen may be a non-loopback address
  bool metrics_tls = false;            // TLS with this certificate; scrapers need a consortium one
  // Site enrolment: where new sites send their signing requests with an admin's token (TLS,
  // no client certificate); empty = off. Admins can approve certificates the offline CA signed
  // either way.
  std::string enrollment_listen;
  // The CA's private key, to sign approved requests on the coordinator; empty = the CA stays
  // offline and admins approve with the certificate `fedxray provision sign` made.
  std::string ca_private_key;
  int enrollment_validity_days = 825;  // of the certificates the coordinator signs
  // The web console (HTTPS, client certificates of admins and researchers); empty = off.
  std::string console_listen;
};

CoordinatorConfig load_coordinator_config(const std::string& file);

}  // namespace fedxray

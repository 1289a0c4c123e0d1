// ConsortiumConfig: who takes part in a consortium, read by `fedxray provision` to issue the CA,
// the coordinator's server certificate and one client certificate per site, admin and researcher.
#pragma once

#include <string>
#include <vector>

namespace fedxray {

struct ConsortiumConfig {
  std::string name;
  int validity_days = 825;
  std::string coordinator_name = "coordinator";
  std::vector<std::string> coordinator_hosts;  // DNS names and IP addresses for the SAN
  int coordinator_port = 50051;
  std::vector<std::string> sites;
  std::vector<std::string> admins;
  // Read-only users of the admin API (OU=researcher): jobs, status, metrics, model download.
  std::vector<std::string> researchers;
};

ConsortiumConfig load_consortium_config(const std::string& file);

}  // namespace fedxray

// AdminConfig: a consortium admin's settings, read from the `admin:` mapping of the admin.yaml
// that `fedxray provision` writes into the admin's startup kit. Relative paths are resolved
// against the file.
#pragma once

#include <string>

namespace fedxray {

struct AdminConfig {
  std::string name;
  std::string coordinator;  // host:port
  std::string certificate;
  std::string private_key;
  std::string ca_certificate;
};

// `kit` is the admin's kit folder (holding admin.yaml) or the YAML file itself.
AdminConfig load_admin_config(const std::string& kit);

}  // namespace fedxray

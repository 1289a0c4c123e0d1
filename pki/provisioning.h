// Provisioning: turns a consortium YAML into a CA and one startup kit folder per participant.
//
//   <out>/ca/ca.crt, ca.key                  the CA (keep ca.key offline)
//   <out>/<coordinator>/                     server cert + key, ca.crt, coordinator.yaml
//   <out>/<site>/                            client cert + key, ca.crt, site.yaml
//   <out>/<admin>/                           client cert + key, ca.crt, admin.yaml
//
// Keys are written with mode 0600. Re-running keeps every existing key, certificate and config
// file and only adds what is missing (a new site, say); force = true regenerates everything.
#pragma once

#include <string>
#include <vector>

#include "config/consortium_config.h"

namespace fedxray {

struct ProvisionReport {
  std::vector<std::string> created;  // files written
  std::vector<std::string> kept;     // files that existed and were left alone
};

ProvisionReport provision_consortium(const ConsortiumConfig& consortium, const std::string& out_dir,
                                     bool force);

// The site.yaml of a kit for site `name` that dials `coordinator` (host:port), as provisioning
// writes it; `fedxray enroll` writes the same for a site that made its own key.
std::string site_kit_yaml(const std::string& name, const std::string& coordinator);

}  // namespace fedxray

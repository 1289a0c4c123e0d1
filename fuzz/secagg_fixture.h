// A consortium for the secure-aggregation fuzz targets: one CA and three sites with real keys
// and certificates, made once per process (key generation is far slower than one fuzz input).
#pragma once

#include <cstdio>
#include <vector>

#include "pki/certificate_authority.h"
#include "privacy/secagg/secure_aggregation_site.h"

namespace fedxray::fuzz {

struct SecAggConsortium {
  CertificateAuthority ca = CertificateAuthority::create("fuzz", 30);
  std::vector<SiteCredentials> sites;
};

inline const SecAggConsortium& secagg_consortium() {
  static const SecAggConsortium made = [] {
    SecAggConsortium c;
    for (int i = 0; i < 3; ++i) {
      const std::string name = "site-0" + std::to_string(i);
      const std::string key = generate_private_key_pem();
      c.sites.push_back({name, key, c.ca.issue(key, {name, "site", {}, false, 30}),
                         c.ca.certificate_pem()});
    }
    return c;
  }();
  return made;
}

}  // namespace fedxray::fuzz

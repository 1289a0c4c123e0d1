// Signatures with a participant's certificate key, so the coordinator can relay a site's
// secure-aggregation public keys but cannot swap them: each site signs its keys with the private
// key of its consortium certificate, and every other site checks the signature against the
// sender's certificate, the certificate against the consortium CA, and the certificate's subject
// against the name the keys claim (CN = site name, OU = "site"). ECDSA P-256 with SHA-256.
#pragma once

#include <string>

namespace fedxray {

// Signs `message` with a PEM private key. Throws Error on an unreadable key.
std::string sign_with_key(const std::string& private_key_pem, const std::string& message);

// Empty string when `signature` over `message` verifies with `certificate_pem`, that
// certificate chains to `ca_pem`, and its subject is CN=`expected_name`, OU=site; otherwise
// the reason, fit for a log line.
std::string check_site_signature(const std::string& ca_pem, const std::string& certificate_pem,
                                 const std::string& expected_name, const std::string& message,
                                 const std::string& signature);

}  // namespace fedxray

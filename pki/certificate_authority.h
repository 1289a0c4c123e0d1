// CertificateAuthority: the consortium CA that `fedxray provision` creates and uses to issue
// participant certificates (OpenSSL 3, ECDSA P-256, SHA-256 signatures).
//
// Subjects are "O=<consortium>, OU=<role>, CN=<name>" where role is "coordinator", "site",
// "admin" or "researcher"; the coordinator reads a caller's identity and role from exactly these fields.
// All errors throw fedxray::Error.
#pragma once

#include <string>
#include <vector>

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace fedxray {

// A fresh ECDSA P-256 private key, PKCS#8 PEM.
std::string generate_private_key_pem();

// A PKCS#12 file (DER) holding a participant's key, certificate and the CA, for importing into
// a browser (the web console); protected by an empty password, so it is as secret as the key
// and written with the same mode 0600.
std::string make_pkcs12(const std::string& private_key_pem, const std::string& certificate_pem,
                        const std::string& ca_certificate_pem, const std::string& friendly_name);

struct CertificateRequest {
  std::string common_name;
  std::string role;                   // OU
  std::vector<std::string> hosts;     // SANs: IP literals become IP SANs, the rest DNS SANs
  bool server = false;                // serverAuth (coordinator) vs clientAuth (site, admin)
  int validity_days = 825;
};

class CertificateAuthority {
 public:
  // A new self-signed CA for `organisation`.
  static CertificateAuthority create(const std::string& organisation, int validity_days);
  static CertificateAuthority load(const std::string& cert_pem, const std::string& key_pem);

  // Issues a certificate for the holder of `subject_key_pem` (a private key: provisioning).
  std::string issue(const std::string& subject_key_pem, const CertificateRequest& request) const;
  // Issues a certificate for a public key (PEM SubjectPublicKeyInfo) whose private key stays
  // with its holder: enrolment and renewal by signing request (pki/signing_request.h).
  std::string issue_for_public_key(const std::string& public_key_pem,
                                   const CertificateRequest& request) const;

  const std::string& certificate_pem() const { return cert_pem_; }
  const std::string& private_key_pem() const { return key_pem_; }
  const std::string& organisation() const { return organisation_; }

 private:
  std::string issue_for(evp_pkey_st* subject_key, const CertificateRequest& request) const;
  std::string cert_pem_;
  std::string key_pem_;
  std::string organisation_;
};

}  // namespace fedxray

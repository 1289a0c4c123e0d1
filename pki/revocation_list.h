// Certificate revocation: `fedxray provision --revoke NAME` adds a participant's certificate to
// the consortium's CRL (X.509, signed by the consortium CA); the coordinator re-reads that file
// whenever it changes and refuses a revoked site or admin from its next call on, without a
// restart. OpenSSL 3, torch-free.
#pragma once

#include <chrono>
#include <ctime>
#include <mutex>
#include <set>
#include <string>

namespace fedxray {

// A CRL (PEM) that holds every entry of `existing_crl_pem` (may be empty) plus the serial of
// `certificate_pem`, signed by the CA. Throws Error when a PEM is unreadable or the certificate
// was not issued by this CA.
// `issued_at` (seconds since the epoch, 0 = now) is the CRL's lastUpdate.
std::string add_to_revocation_list(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                   const std::string& existing_crl_pem,
                                   const std::string& certificate_pem, std::time_t issued_at = 0);

struct RevocationList {
  std::set<std::string> serials;  // hex
  std::time_t issued_at = 0;      // lastUpdate
};
// A CRL whose signature verifies with the CA; throws Error otherwise.
RevocationList read_revocation_list(const std::string& crl_pem, const std::string& ca_cert_pem);
// Serial numbers (hex) in a CRL whose signature verifies with the CA; throws Error otherwise.
std::set<std::string> revoked_serials(const std::string& crl_pem, const std::string& ca_cert_pem);

// The hex serial number of a certificate; throws Error on an unreadable PEM.
std::string certificate_serial(const std::string& certificate_pem);

// The coordinator's view of the CRL file: re-read when its modification time changes (checked
// at most once a second). A missing file revokes nothing; a file that does not verify, or that
// was issued before the list in force (a replayed older list would un-revoke certificates), is
// logged and the last good list stays in force. The constructor logs whether a list is loaded.
// Thread-safe.
class RevocationWatcher {
 public:
  RevocationWatcher(std::string crl_path, std::string ca_cert_pem);
  bool is_revoked(const std::string& certificate_pem);

 private:
  void refresh();  // mu_ held

  std::string path_;
  std::string ca_pem_;
  std::mutex mu_;
  std::set<std::string> revoked_;
  std::time_t issued_at_ = 0;  // of the list in force
  std::chrono::steady_clock::time_point checked_{};
  long long loaded_mtime_ = -1;
};

}  // namespace fedxray

#include "pki/revocation_list.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <memory>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "pki/openssl_handles.h"

namespace fedxray {
namespace {

using ossl::Bio;
using ossl::Cert;
using ossl::Crl;
using ossl::Deleter;
using ossl::PKey;

Bio mem(const std::string& pem) { return ossl::memory(pem); }

Cert read_cert(const std::string& pem, const char* what) {
  Cert c = ossl::read_certificate(pem);
  if (!c) throw Error(std::string("cannot read the ") + what + " certificate");
  return c;
}

std::string serial_hex(const ASN1_INTEGER* serial) {
  std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>> bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) throw Error("cannot read a certificate serial number");
  char* hex = BN_bn2hex(bn.get());
  std::string out(hex ? hex : "");
  OPENSSL_free(hex);
  return out;
}

}  // namespace

std::string certificate_serial(const std::string& certificate_pem) {
  return serial_hex(X509_get0_serialNumber(read_cert(certificate_pem, "participant").get()));
}

std::set<std::string> revoked_serials(const std::string& crl_pem, const std::string& ca_cert_pem) {
  return read_revocation_list(crl_pem, ca_cert_pem).serials;
}

RevocationList read_revocation_list(const std::string& crl_pem, const std::string& ca_cert_pem) {
  Cert ca = read_cert(ca_cert_pem, "CA");
  Bio b = mem(crl_pem);
  Crl crl(b ? PEM_read_bio_X509_CRL(b.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!crl) throw Error("the revocation list is not a readable PEM CRL");
  if (X509_CRL_verify(crl.get(), X509_get0_pubkey(ca.get())) != 1) {
    throw Error("the revocation list is not signed by the consortium CA");
  }
  RevocationList out;
  std::tm issued{};
  const ASN1_TIME* last_update = X509_CRL_get0_lastUpdate(crl.get());
  if (!last_update || ASN1_TIME_to_tm(last_update, &issued) != 1) {
    throw Error("the revocation list has no readable issue date (lastUpdate)");
  }
  out.issued_at = timegm(&issued);
  STACK_OF(X509_REVOKED)* entries = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(entries); ++i) {
    out.serials.insert(serial_hex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(entries, i))));
  }
  return out;
}

std::string add_to_revocation_list(const std::string& ca_cert_pem, const std::string& ca_key_pem,
                                   const std::string& existing_crl_pem,
                                   const std::string& certificate_pem, std::time_t issued_at) {
  Cert ca = read_cert(ca_cert_pem, "CA");
  Cert cert = read_cert(certificate_pem, "participant");
  if (X509_verify(cert.get(), X509_get0_pubkey(ca.get())) != 1) {
    throw Error("that certificate was not issued by this consortium's CA");
  }
  Bio kb = mem(ca_key_pem);
  PKey key(kb ? PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) throw Error("cannot read the CA key");
  std::set<std::string> already;
  if (!existing_crl_pem.empty()) already = revoked_serials(existing_crl_pem, ca_cert_pem);
  Crl crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.get())) != 1) {
    throw Error("cannot build a revocation list");
  }
  if (issued_at == 0) issued_at = time(nullptr);
  std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>> now(ASN1_TIME_set(nullptr, issued_at));
  std::unique_ptr<ASN1_TIME, Deleter<ASN1_TIME, ASN1_TIME_free>> next(
      ASN1_TIME_set(nullptr, issued_at + 3650L * 24 * 3600));
  X509_CRL_set1_lastUpdate(crl.get(), now.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  already.insert(serial_hex(X509_get0_serialNumber(cert.get())));
  for (const auto& hex : already) {
    BIGNUM* bn = nullptr;
    if (!BN_hex2bn(&bn, hex.c_str())) throw Error("bad serial in the revocation list");
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    BN_free(bn);
    X509_REVOKED* entry = X509_REVOKED_new();
    X509_REVOKED_set_serialNumber(entry, serial);
    X509_REVOKED_set_revocationDate(entry, now.get());
    ASN1_INTEGER_free(serial);
    X509_CRL_add0_revoked(crl.get(), entry);
  }
  X509_CRL_sort(crl.get());
  if (X509_CRL_sign(crl.get(), key.get(), EVP_sha256()) <= 0) throw Error("cannot sign the revocation list");
  Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_CRL(out.get(), crl.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, std::size_t(len));
}

RevocationWatcher::RevocationWatcher(std::string crl_path, std::string ca_cert_pem)
    : path_(std::move(crl_path)), ca_pem_(std::move(ca_cert_pem)) {
  std::lock_guard<std::mutex> lock(mu_);
  refresh();
  if (loaded_mtime_ < 0) {
    spdlog::warn("revocation list {} does not exist yet: no certificate is refused as revoked "
                 "until it appears", path_);
  }
}

void RevocationWatcher::refresh() {
  checked_ = std::chrono::steady_clock::now();
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0) return;  // no list: nothing revoked (or the last list)
  const long long mtime = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
  if (mtime == loaded_mtime_) return;
  try {
    RevocationList list = read_revocation_list(read_file(path_), ca_pem_);
    loaded_mtime_ = mtime;
    if (list.issued_at < issued_at_) {
      throw Error("it was issued at " + std::to_string(list.issued_at) + ", before the list in " +
                  "force (" + std::to_string(issued_at_) + "): an older list would un-revoke " +
                  "certificates. Restore the newest kits/ca/crl.pem");
    }
    if (!std::includes(list.serials.begin(), list.serials.end(), revoked_.begin(), revoked_.end())) {
      throw Error("it lacks certificates the list in force revokes: revocations only accumulate, "
                  "so this is an older or forged list. Restore the newest kits/ca/crl.pem");
    }
    revoked_ = std::move(list.serials);
    issued_at_ = list.issued_at;
    spdlog::info("revocation list {}: {} certificates revoked", path_, revoked_.size());
  } catch (const Error& e) {
    loaded_mtime_ = mtime;  // do not retry a bad file every call
    spdlog::error("revocation list {} ignored: {}; the previous list stays in force", path_, e.what());
  }
}

bool RevocationWatcher::is_revoked(const std::string& certificate_pem) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::chrono::steady_clock::now() - checked_ > std::chrono::seconds(1)) refresh();
  if (revoked_.empty()) return false;
  try {
    return revoked_.count(certificate_serial(certificate_pem)) > 0;
  } catch (const Error&) {
    return true;  // an unreadable peer certificate is not trusted
  }
}

}  // namespace fedxray

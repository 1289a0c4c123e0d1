#include "pki/certificate_authority.h"

#include <arpa/inet.h>

#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/error.h"
#include "pki/openssl_handles.h"

namespace fedxray {
namespace {

using ossl::Bio;
using ossl::Cert;
using ossl::Deleter;
using ossl::PKey;

[[noreturn]] void openssl_fail(const std::string& what) {
  char buf[256] = {0};
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  throw Error("OpenSSL failed to " + what + ": " + buf);
}

std::string bio_string(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, std::size_t(n));
}

PKey parse_key(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  PKey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) openssl_fail("read a private key");
  return key;
}

Cert parse_cert(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), int(pem.size())));
  Cert cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) openssl_fail("read a certificate");
  return cert;
}

std::string cert_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) openssl_fail("write a certificate");
  return bio_string(bio.get());
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) openssl_fail("build certificate extension " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert new_cert(EVP_PKEY* subject_key, const std::string& organisation, const std::string& role,
              const std::string& cn, int days) {
  Cert cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  // A predictable or repeated serial would let one revocation hit another participant.
  if (RAND_bytes(serial, sizeof(serial)) != 1) {
    throw Error("OpenSSL's random generator failed; cannot pick a certificate serial number");
  }
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), long(days) * 24 * 3600);
  X509_set_pubkey(cert.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto add = [&](const char* field, const std::string& value) {
    X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
  };
  add("O", organisation);
  add("OU", role);
  add("CN", cn);
  return cert;
}

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

std::string generate_private_key_pem() {
  PKey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) openssl_fail("generate an EC P-256 key");
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    openssl_fail("write a private key");
  }
  return bio_string(bio.get());
}

std::string make_pkcs12(const std::string& private_key_pem, const std::string& certificate_pem,
                        const std::string& ca_certificate_pem, const std::string& friendly_name) {
  PKey key = parse_key(private_key_pem);
  Cert cert = parse_cert(certificate_pem);
  Cert ca = parse_cert(ca_certificate_pem);
  STACK_OF(X509)* chain = sk_X509_new_null();
  sk_X509_push(chain, ca.get());
  PKCS12* p12 = PKCS12_create("", friendly_name.c_str(), key.get(), cert.get(), chain, 0, 0, 0, 0, 0);
  sk_X509_free(chain);
  if (!p12) openssl_fail("make a PKCS#12 file for " + friendly_name);
  unsigned char* der = nullptr;
  const int n = i2d_PKCS12(p12, &der);
  PKCS12_free(p12);
  if (n <= 0) openssl_fail("encode a PKCS#12 file");
  std::string out(reinterpret_cast<char*>(der), std::size_t(n));
  OPENSSL_free(der);
  return out;
}

CertificateAuthority CertificateAuthority::create(const std::string& organisation,
                                                  int validity_days) {
  CertificateAuthority ca;
  ca.organisation_ = organisation;
  ca.key_pem_ = generate_private_key_pem();
  PKey key = parse_key(ca.key_pem_);
  Cert cert = new_cert(key.get(), organisation, "ca", organisation + " fedxray CA", validity_days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) openssl_fail("sign the CA certificate");
  ca.cert_pem_ = cert_pem(cert.get());
  return ca;
}

CertificateAuthority CertificateAuthority::load(const std::string& cert_pem_text,
                                                const std::string& key_pem) {
  Cert cert = parse_cert(cert_pem_text);
  PKey key = parse_key(key_pem);
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    throw Error("the CA private key does not belong to the CA certificate");
  }
  CertificateAuthority ca;
  ca.cert_pem_ = cert_pem_text;
  ca.key_pem_ = key_pem;
  char buf[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_organizationName, buf,
                            sizeof(buf));
  ca.organisation_ = buf;
  return ca;
}

std::string CertificateAuthority::issue(const std::string& subject_key_pem,
                                        const CertificateRequest& req) const {
  PKey subject_key = parse_key(subject_key_pem);
  return issue_for(subject_key.get(), req);
}

std::string CertificateAuthority::issue_for_public_key(const std::string& public_key_pem,
                                                       const CertificateRequest& req) const {
  Bio bio(BIO_new_mem_buf(public_key_pem.data(), int(public_key_pem.size())));
  PKey subject_key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!subject_key) openssl_fail("read a public key");
  return issue_for(subject_key.get(), req);
}

std::string CertificateAuthority::issue_for(EVP_PKEY* subject_key,
                                            const CertificateRequest& req) const {
  Cert ca_cert = parse_cert(cert_pem_);
  PKey ca_key = parse_key(key_pem_);
  Cert cert = new_cert(subject_key, organisation_, req.role, req.common_name,
                       req.validity_days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert.get()));
  add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature,keyAgreement");
  add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage,
                req.server ? "serverAuth" : "clientAuth");
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (!req.hosts.empty()) {
    std::string san;
    for (const auto& h : req.hosts) {
      san += (san.empty() ? "" : ",") + std::string(is_ip_literal(h) ? "IP:" : "DNS:") + h;
    }
    add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, san);
  }
  if (X509_sign(cert.get(), ca_key.get(), EVP_sha256()) == 0) {
    openssl_fail("sign the certificate for " + req.common_name);
  }
  return cert_pem(cert.get());
}

}  // namespace fedxray

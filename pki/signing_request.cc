#include "pki/signing_request.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "base/error.h"
#include "base/sha256.h"
#include "config/participant_name.h"
#include "pki/openssl_handles.h"
#include "pki/tls.h"

namespace fedxray {
namespace {

using Request = std::unique_ptr<X509_REQ, ossl::Deleter<X509_REQ, X509_REQ_free>>;

std::string bio_text(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, std::size_t(n));
}

std::string name_field(X509_NAME* name, int nid) {
  const int at = X509_NAME_get_index_by_NID(name, nid, -1);
  if (at < 0) return "";
  if (X509_NAME_get_index_by_NID(name, nid, at) >= 0) return "\n";  // two of them: refused
  ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, value);
  if (n < 0) return "\n";
  std::string out(reinterpret_cast<char*>(utf8), std::size_t(n));
  OPENSSL_free(utf8);
  return out;
}

void check_key_strength(EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_EC) {
    char group[64] = {0};
    std::size_t len = 0;
    EVP_PKEY_get_utf8_string_param(key, "group", group, sizeof group, &len);
    const std::string g(group);
    if (g != "prime256v1" && g != "secp384r1" && g != "P-256" && g != "P-384") {
      throw Error("the request's EC key is on curve '" + g + "'; use P-256 or P-384");
    }
  } else if (type == EVP_PKEY_RSA) {
    if (EVP_PKEY_get_bits(key) < 2048) {
      throw Error("the request's RSA key has " + std::to_string(EVP_PKEY_get_bits(key)) +
                  " bits; use at least 2048 (or EC P-256, as fedxray enroll does)");
    }
  } else {
    throw Error("the request's key is neither EC nor RSA; use EC P-256 (fedxray enroll)");
  }
}

}  // namespace

std::string make_signing_request(const std::string& private_key_pem,
                                 const std::string& common_name) {
  ossl::Bio in = ossl::memory(private_key_pem);
  ossl::PKey key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
  if (!key) throw Error("cannot read the private key for the signing request");
  Request req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_REQ_set_pubkey(req.get(), key.get());
  if (X509_REQ_sign(req.get(), key.get(), EVP_sha256()) == 0) {
    throw Error("OpenSSL could not sign the certificate signing request");
  }
  ossl::Bio out(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509_REQ(out.get(), req.get());
  return bio_text(out.get());
}

SigningRequest read_signing_request(const std::string& csr_pem) {
  if (csr_pem.size() > kMaxSigningRequestBytes) {
    throw Error("the certificate signing request is " + std::to_string(csr_pem.size()) +
                " bytes; a fedxray request is under 1 KiB (limit " +
                std::to_string(kMaxSigningRequestBytes) + ")");
  }
  ossl::Bio in = ossl::memory(csr_pem);
  Request req(PEM_read_bio_X509_REQ(in.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!req) {
    throw Error(
        "not a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----); "
        "make one with fedxray enroll");
  }
  ossl::PKey key(X509_REQ_get_pubkey(req.get()));
  if (!key) throw Error("the certificate signing request has no readable public key");
  if (X509_REQ_verify(req.get(), key.get()) != 1) {
    ERR_clear_error();
    throw Error(
        "the certificate signing request's signature does not verify with its own key "
        "(altered or damaged in transit); make a new one with fedxray enroll");
  }
  check_key_strength(key.get());
  SigningRequest out;
  out.common_name = name_field(X509_REQ_get_subject_name(req.get()), NID_commonName);
  if (!is_valid_participant_name(out.common_name)) {
    throw Error(
        "the request's CN must be a participant name: 1-63 lower-case letters, digits or "
        "'-' (got \"" +
        out.common_name + "\")");
  }
  ossl::Bio pub(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(pub.get(), key.get());
  out.public_key_pem = bio_text(pub.get());
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req.get(), &der);
  if (n <= 0) throw Error("cannot encode the certificate signing request");
  out.sha256 = Sha256::of(der, std::size_t(n));
  OPENSSL_free(der);
  return out;
}

SigningRequest key_and_name_of(const std::string& certificate_pem) {
  ossl::Cert cert = ossl::read_certificate(certificate_pem);
  ERR_clear_error();
  if (!cert) throw Error("not a PEM certificate");
  SigningRequest out;
  out.common_name = name_field(X509_get_subject_name(cert.get()), NID_commonName);
  ossl::Bio pub(BIO_new(BIO_s_mem()));
  PEM_write_bio_PUBKEY(pub.get(), X509_get0_pubkey(cert.get()));
  out.public_key_pem = bio_text(pub.get());
  return out;
}

std::string role_of_certificate(const std::string& certificate_pem) {
  ossl::Cert cert = ossl::read_certificate(certificate_pem);
  ERR_clear_error();
  if (!cert) throw Error("not a PEM certificate");
  return name_field(X509_get_subject_name(cert.get()), NID_organizationalUnitName);
}

int64_t check_issued_for(const std::string& certificate_pem, const SigningRequest& request,
                         const std::string& role, const std::string& ca_certificate_pem) {
  ossl::Cert cert = ossl::read_certificate(certificate_pem);
  ossl::Cert ca = ossl::read_certificate(ca_certificate_pem);
  ERR_clear_error();
  if (!cert) throw Error("not a PEM certificate");
  if (!ca) throw Error("the consortium CA certificate is unreadable");
  ossl::Store store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca.get());
  ossl::StoreCtx ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    throw Error(std::string("the certificate does not verify against the consortium CA (") +
                X509_verify_cert_error_string(err) + ")");
  }
  ossl::Bio pub = ossl::memory(request.public_key_pem);
  ossl::PKey key(PEM_read_bio_PUBKEY(pub.get(), nullptr, nullptr, nullptr));
  if (!key || EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) != 1) {
    ERR_clear_error();
    throw Error("the certificate is for another key than the request's");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (name_field(subject, NID_commonName) != request.common_name) {
    throw Error("the certificate names " + name_field(subject, NID_commonName) + ", the request " +
                request.common_name);
  }
  if (name_field(subject, NID_organizationalUnitName) != role) {
    throw Error("the certificate's role (OU) is " +
                name_field(subject, NID_organizationalUnitName) + ", not " + role);
  }
  return certificate_not_after(certificate_pem);
}

}  // namespace fedxray

#include "privacy/secagg/participant_signature.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>

#include "base/error.h"
#include "pki/openssl_handles.h"

namespace fedxray {
namespace {

using ossl::Bio;
using ossl::Cert;
using ossl::MdCtx;
using ossl::PKey;
using ossl::Store;
using ossl::StoreCtx;
using ossl::memory;

Cert read_cert(const std::string& pem) { return ossl::read_certificate(pem); }

std::string subject_field(X509* cert, int nid) {
  X509_NAME* name = X509_get_subject_name(cert);
  const int at = X509_NAME_get_index_by_NID(name, nid, -1);
  if (at < 0) return {};
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, at));
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                     std::size_t(ASN1_STRING_length(data)));
}

}  // namespace

std::string sign_with_key(const std::string& private_key_pem, const std::string& message) {
  Bio bio = memory(private_key_pem);
  PKey key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) throw Error("cannot read the participant's private key to sign with");
  MdCtx ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  const auto* msg = reinterpret_cast<const unsigned char*>(message.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, msg, message.size()) != 1) {
    throw Error("signing failed");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len, msg,
                     message.size()) != 1) {
    throw Error("signing failed");
  }
  signature.resize(len);
  return signature;
}

std::string check_site_signature(const std::string& ca_pem, const std::string& certificate_pem,
                                 const std::string& expected_name, const std::string& message,
                                 const std::string& signature) {
  Cert ca = read_cert(ca_pem);
  Cert cert = read_cert(certificate_pem);
  if (!ca) return "the consortium CA certificate is unreadable";
  if (!cert) return "site '" + expected_name + "' sent no readable certificate";
  Store store(X509_STORE_new());
  StoreCtx vctx(X509_STORE_CTX_new());
  if (!store || !vctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
      X509_STORE_CTX_init(vctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return "cannot set up certificate verification";
  }
  if (X509_verify_cert(vctx.get()) != 1) {
    return "site '" + expected_name + "' certificate does not chain to the consortium CA: " +
           X509_verify_cert_error_string(X509_STORE_CTX_get_error(vctx.get()));
  }
  const std::string cn = subject_field(cert.get(), NID_commonName);
  const std::string ou = subject_field(cert.get(), NID_organizationalUnitName);
  if (cn != expected_name || ou != "site") {
    return "keys claimed for site '" + expected_name + "' come with the certificate of " + ou +
           " '" + cn + "'";
  }
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                                   X509_get0_pubkey(cert.get())) != 1 ||
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) != 1) {
    return "site '" + expected_name + "' key signature does not verify (keys altered in transit)";
  }
  return {};
}

}  // namespace fedxray

// Enrolment's parts without processes: signing requests (made, read, and refused when altered,
// weak, misnamed or not one), certificates issued for a public key and checked against the
// request, and the enrolment book's tokens and decisions in a real SQLite file.
#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <filesystem>
#include <thread>

#include "base/atomic_file.h"
#include "base/error.h"
#include "coordinator/store/enrollment_book.h"
#include "coordinator/store/state_database.h"
#include "pki/certificate_authority.h"
#include "pki/signing_request.h"
#include "pki/tls.h"
#include "site-agent/transport/certificate_renewal.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

std::string refusal(const std::string& csr_pem) {
  try {
    read_signing_request(csr_pem);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

std::string rsa_key_pem(unsigned bits) {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t(bits));
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, std::size_t(n));
  BIO_free(bio);
  EVP_PKEY_free(key);
  return pem;
}

// The request's DER with "hospital-d" replaced by "hospital-e", signature left as it was.
std::string with_name_changed(const std::string& pem) {
  BIO* in = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509_REQ* req = PEM_read_bio_X509_REQ(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  unsigned char* der = nullptr;
  const int n = i2d_X509_REQ(req, &der);
  X509_REQ_free(req);
  std::string bytes(reinterpret_cast<char*>(der), std::size_t(n));
  OPENSSL_free(der);
  const std::size_t at = bytes.find("hospital-d");
  REQUIRE(at != std::string::npos);
  bytes[at + 9] = 'e';
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  X509_REQ* altered = d2i_X509_REQ(nullptr, &p, long(bytes.size()));
  REQUIRE(altered != nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_REQ(out, altered);
  X509_REQ_free(altered);
  char* data = nullptr;
  const long len = BIO_get_mem_data(out, &data);
  std::string result(data, std::size_t(len));
  BIO_free(out);
  return result;
}

template <typename Fn>
std::string book_refusal(Fn&& fn) {
  try {
    fn();
  } catch (const EnrollmentRefused& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a signing request carries the name and public key and proves the key", "[enrollment]") {
  const std::string key = generate_private_key_pem();
  const std::string pem = make_signing_request(key, "hospital-d");
  const SigningRequest request = read_signing_request(pem);
  CHECK(request.common_name == "hospital-d");
  CHECK(request.sha256.size() == 64);
  CHECK(request.public_key_pem.find("BEGIN PUBLIC KEY") != std::string::npos);
  CHECK(request.public_key_pem.find("PRIVATE") == std::string::npos);
  // The same key signs a second request: a new identifier (ECDSA signatures differ), same key.
  const SigningRequest again = read_signing_request(make_signing_request(key, "hospital-d"));
  CHECK(again.public_key_pem == request.public_key_pem);
}

TEST_CASE("altered, weak, misnamed and non-requests are refused saying why", "[enrollment]") {
  const std::string pem = make_signing_request(generate_private_key_pem(), "hospital-d");
  // The name changed inside the signed body (hospital-d -> hospital-e): the signature fails.
  CHECK_THAT(refusal(with_name_changed(pem)), Catch::Contains("does not verify"));
  CHECK_THAT(refusal(make_signing_request(rsa_key_pem(1024), "hospital-d")),
             Catch::Contains("1024 bits") && Catch::Contains("2048"));
  CHECK(refusal(make_signing_request(rsa_key_pem(2048), "hospital-d")) == "no error");
  CHECK_THAT(refusal(make_signing_request(generate_private_key_pem(), "Hospital D")),
             Catch::Contains("participant name"));
  CHECK_THAT(refusal("hello"), Catch::Contains("not a PEM certificate signing request"));
  CHECK_THAT(refusal(std::string(20000, 'x')), Catch::Contains("limit"));
}

TEST_CASE(
    "the CA issues for a request's public key and the certificate is checked against the "
    "request and the CA",
    "[enrollment]") {
  const CertificateAuthority ca = CertificateAuthority::create("enrol-test", 30);
  const CertificateAuthority other = CertificateAuthority::create("other", 30);
  const std::string key = generate_private_key_pem();
  const SigningRequest request = read_signing_request(make_signing_request(key, "hospital-d"));
  CertificateRequest what;
  what.common_name = "hospital-d";
  what.role = "site";
  what.validity_days = 10;
  const std::string cert = ca.issue_for_public_key(request.public_key_pem, what);
  const int64_t not_after = check_issued_for(cert, request, "site", ca.certificate_pem());
  CHECK(days_until(not_after) >= 9);
  CHECK(days_until(not_after) <= 10);
  CHECK(key_and_name_of(cert).public_key_pem == request.public_key_pem);

  const auto mismatch = [&](const std::string& c, const std::string& role,
                            const std::string& ca_pem) {
    try {
      check_issued_for(c, request, role, ca_pem);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(mismatch(cert, "site", other.certificate_pem()), Catch::Contains("does not verify"));
  CHECK_THAT(mismatch(cert, "admin", ca.certificate_pem()), Catch::Contains("role (OU) is site"));
  const std::string other_key_cert = ca.issue(generate_private_key_pem(), what);
  CHECK_THAT(mismatch(other_key_cert, "site", ca.certificate_pem()),
             Catch::Contains("another key"));
  what.common_name = "hospital-e";
  const std::string other_name = ca.issue_for_public_key(request.public_key_pem, what);
  CHECK_THAT(mismatch(other_name, "site", ca.certificate_pem()), Catch::Contains("hospital-e"));
}

TEST_CASE(
    "enrolment tokens are one-time, bound to a name and expire, and decisions are "
    "recorded",
    "[enrollment]") {
  testing::TempDir dir;
  StateDatabase state(dir.path);
  EnrollmentBook book(state.connection());
  std::string expires;
  const std::string token = book.issue_token("hospital-d", "CN=alice,OU=admin", 72, expires);
  CHECK(token.rfind("fxe-", 0) == 0);
  CHECK(expires > utc_now());

  CHECK_THAT(book_refusal([&] { book.request("hospital-e", token, "csr", "sha"); }),
             Catch::Contains("not the enrolment token issued for 'hospital-e'"));
  CHECK_THAT(book_refusal([&] { book.request("hospital-d", token + "x", "csr", "sha"); }),
             Catch::Contains("not the enrolment token"));
  const EnrollmentRow pending = book.request("hospital-d", token, "csr-pem", "sha-1");
  CHECK(pending.status == "pending");
  CHECK_FALSE(book.admitted("hospital-d"));
  CHECK_THAT(book_refusal([&] { book.request("hospital-d", token, "csr-pem", "sha-2"); }),
             Catch::Contains("used already"));

  const EnrollmentRow approved = book.approve("hospital-d", "cert-pem", 1234, "CN=alice,OU=admin");
  CHECK(approved.status == "approved");
  CHECK(approved.certificate_pem == "cert-pem");
  CHECK(book.admitted("hospital-d"));
  CHECK(book.admitted_count() == 1);
  CHECK_THAT(book_refusal([&] { book.reject("hospital-d", "late", "CN=alice,OU=admin"); }),
             Catch::Contains("no pending enrolment request"));

  // An expired token, then a rejection, which approval cannot undo.
  const std::string brief = book.issue_token("hospital-g", "CN=alice,OU=admin", 1e-7, expires);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  CHECK_THAT(book_refusal([&] { book.request("hospital-g", brief, "csr", "sha"); }),
             Catch::Contains("expired"));
  const std::string fresh = book.issue_token("hospital-g", "CN=alice,OU=admin", 1, expires);
  book.request("hospital-g", fresh, "csr", "sha-g");
  CHECK(book.reject("hospital-g", "unknown hospital", "CN=alice,OU=admin").reason ==
        "unknown hospital");
  CHECK_THAT(book_refusal([&] { book.approve("hospital-g", "c", 1, "CN=alice,OU=admin"); }),
             Catch::Contains("rejected"));
  CHECK_FALSE(book.admitted("hospital-g"));
  // Removed: off the roster whatever it was, and its earlier tokens stop working.
  const std::string unused = book.issue_token("hospital-d", "CN=alice,OU=admin", 1, expires);
  CHECK(book.token_usable("hospital-d", unused));
  CHECK(book.remove("hospital-d", "key lost", "CN=alice,OU=admin").status == "removed");
  CHECK(book.removed("hospital-d"));
  CHECK_FALSE(book.admitted("hospital-d"));
  CHECK_FALSE(book.token_usable("hospital-d", unused));
  CHECK_THAT(book_refusal([&] { book.approve("hospital-d", "c", 1, "CN=alice,OU=admin"); }),
             Catch::Contains("removed"));
  book.remove("site-z", "left the consortium", "CN=alice,OU=admin");  // never enrolled: listed
  CHECK(book.removed("site-z"));
  // The record survives the process: a second book over the same file sees it all.
  StateDatabase reopened(dir.path);
  EnrollmentBook again(reopened.connection());
  CHECK(again.list().size() == 3);
  CHECK(again.removed("hospital-d"));
}

TEST_CASE("a renewal interrupted between its two renames is completed, never half-applied",
          "[enrollment]") {
  testing::TempDir dir;
  const TlsFiles kit{dir.path + "/site.crt", dir.path + "/site.key", dir.path + "/ca.crt"};
  const auto reset = [&] {
    write_file_atomically(kit.certificate, "old cert");
    write_file_atomically(kit.private_key, "old key", 0600);
  };
  reset();
  CHECK_FALSE(finish_interrupted_renewal(kit));  // nothing to do
  // Crashed before either rename: both new files complete beside the old ones.
  write_file_atomically(kit.private_key + ".next", "new key", 0600);
  write_file_atomically(kit.certificate + ".next", "new cert");
  CHECK(finish_interrupted_renewal(kit));
  CHECK(read_file(kit.private_key) == "new key");
  CHECK(read_file(kit.certificate) == "new cert");
  // Crashed after the key's rename: only the certificate is left to move.
  reset();
  write_file_atomically(kit.private_key, "new key", 0600);
  write_file_atomically(kit.certificate + ".next", "new cert");
  CHECK(finish_interrupted_renewal(kit));
  CHECK(read_file(kit.certificate) == "new cert");
  // Crashed before the certificate arrived: the lone new key is dropped, the old pair stays.
  reset();
  write_file_atomically(kit.private_key + ".next", "new key", 0600);
  CHECK_FALSE(finish_interrupted_renewal(kit));
  CHECK(read_file(kit.private_key) == "old key");
  CHECK_FALSE(std::filesystem::exists(kit.private_key + ".next"));
}

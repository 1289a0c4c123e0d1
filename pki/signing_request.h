// Certificate signing requests (PKCS#10): how a participant whose private key never leaves its
// machine asks the consortium CA for a certificate (`fedxray enroll`, renewal), and how the CA's
// side reads one back without trusting anything in it but the name and the public key.
//
// The request carries only CN=<name>; the CA decides everything else (O, OU=role, validity,
// key usage). All errors throw fedxray::Error saying what is wrong with the request.
#pragma once

#include <cstdint>
#include <string>

namespace fedxray {

// A PEM CSR for `common_name`, signed by `private_key_pem` (proof that the requester holds it).
std::string make_signing_request(const std::string& private_key_pem,
                                 const std::string& common_name);

struct SigningRequest {
  std::string common_name;
  std::string public_key_pem;  // SubjectPublicKeyInfo PEM, for CertificateAuthority
  std::string sha256;          // hex SHA-256 of the request's DER encoding: its identifier
};

// Reads and checks a PEM CSR: at most kMaxSigningRequestBytes, one request, a valid signature
// by its own key, an EC P-256/P-384 or RSA >= 2048-bit key, and a CN that is a valid
// participant name.
SigningRequest read_signing_request(const std::string& csr_pem);
constexpr std::size_t kMaxSigningRequestBytes = 16 * 1024;

// The name and public key a certificate carries, as if it had been requested (a certificate the
// offline CA issued for a CSR the coordinator never saw). Its sha256 stays empty.
SigningRequest key_and_name_of(const std::string& certificate_pem);

// The role (OU) a PEM certificate was issued for; throws Error when it is not a certificate.
std::string role_of_certificate(const std::string& certificate_pem);

// Checks that `certificate_pem` was issued by the CA in `ca_certificate_pem` for `request`'s
// key and name with OU=`role`, and is valid now; throws Error naming the mismatch. Returns its
// notAfter (Unix seconds).
int64_t check_issued_for(const std::string& certificate_pem, const SigningRequest& request,
                         const std::string& role, const std::string& ca_certificate_pem);

}  // namespace fedxray

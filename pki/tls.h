// Mutual TLS for every fedxray connection. There is no plaintext mode.
//
// Server side: a client certificate is required and verified against the consortium CA on
// every connection; peer_identity() then reads who the caller is from that certificate.
// Client side: the channel presents the participant's certificate and trusts only the CA.
// Missing or unreadable files throw fedxray::Error naming the file and the config key.
#pragma once

#include <memory>
#include <cstdint>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

namespace fedxray {

struct TlsFiles {
  std::string certificate;     // PEM, this participant's certificate
  std::string private_key;     // PEM, its key (mode 0600)
  std::string ca_certificate;  // PEM, the consortium CA
};

std::shared_ptr<grpc::ServerCredentials> make_server_credentials(const TlsFiles& files);

// How dial() builds a channel beyond the TLS files.
struct DialOptions {
  // The name checked against the server certificate (empty: the host part of target).
  std::string tls_name;
  // "http://[user:password@]host:port": tunnel through this HTTP proxy with CONNECT (the TLS
  // runs inside the tunnel, end to end). Empty: connect directly, whatever https_proxy says
  // (config/http_proxy.h decides the route, from the site file or the environment).
  std::string http_proxy;
  // Client interceptors (tests use one to record every byte a site sends).
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
};

// `target` is host:port.
std::shared_ptr<grpc::Channel> dial(const std::string& target, const TlsFiles& files,
                                    const std::string& tls_name = "");
std::shared_ptr<grpc::Channel> dial(const std::string& target, const TlsFiles& files,
                                    DialOptions options);

struct PeerIdentity {
  std::string common_name;  // CN of the verified client certificate; empty when none
  std::string role;         // OU: "site", "admin", "researcher" or "coordinator"
  std::string certificate_pem;  // the verified client certificate, for revocation checks
  // "CN=<name>,OU=<role>", as the audit log names callers.
  std::string subject() const { return "CN=" + common_name + ",OU=" + role; }
};

PeerIdentity peer_identity(const grpc::ServerContext& context);

// How the site registry names a certificate: the SHA-256 (hex) of its PEM text.
std::string certificate_fingerprint(const std::string& pem);

// When a PEM certificate stops being valid (its notAfter), in seconds since the Unix epoch.
// Throws Error when the text is not a certificate.
int64_t certificate_not_after(const std::string& pem);
// Whole days from now until `not_after` (negative once expired).
int64_t days_until(int64_t not_after);
// Certificates are renewed from this many days before they expire: admin sites, the metrics
// and the agents' own logs warn from then on.
constexpr int64_t kCertificateRenewalDays = 30;
// Logs a warning when the certificate at `path` expires within kCertificateRenewalDays (an error
// once it has); `who` names the participant. Quiet when the file cannot be read (TLS setup then
// reports that).
void warn_if_certificate_expires_soon(const std::string& path, const std::string& who);

}  // namespace fedxray

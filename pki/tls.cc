#include "pki/tls.h"

#include <sys/stat.h>

#include <chrono>
#include <ctime>

#include <grpc/grpc_security_constants.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/sha256.h"

namespace fedxray {
namespace {

std::string load_pem(const std::string& path, const std::string& what) {
  if (path.empty()) throw Error("no " + what + " file configured; set it in the config file");
  try {
    std::string pem = read_file(path);
    if (pem.find("-----BEGIN") == std::string::npos) {
      throw Error(path + " is not a PEM file (" + what + "); use the file from the startup kit");
    }
    return pem;
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (" + what + ")");
  }
}

void warn_if_key_is_readable_by_others(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("private key {} is readable by other users; run: chmod 600 {}", path, path);
  }
}

std::string subject_field(const std::string& subject, const std::string& field) {
  // gRPC renders the subject RFC 2253 style: "CN=site-a,OU=site,O=demo".
  std::size_t pos = 0;
  while (pos < subject.size()) {
    std::size_t end = subject.find(',', pos);
    if (end == std::string::npos) end = subject.size();
    std::string part = subject.substr(pos, end - pos);
    if (part.rfind(field + "=", 0) == 0) return part.substr(field.size() + 1);
    pos = end + 1;
  }
  return "";
}

}  // namespace

std::shared_ptr<grpc::ServerCredentials> make_server_credentials(const TlsFiles& files) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = load_pem(files.ca_certificate, "ca_certificate");
  warn_if_key_is_readable_by_others(files.private_key);
  options.pem_key_cert_pairs.push_back(
      {load_pem(files.private_key, "private_key"), load_pem(files.certificate, "certificate")});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::Channel> dial(const std::string& target, const TlsFiles& files,
                                    const std::string& tls_name) {
  DialOptions options;
  options.tls_name = tls_name;
  return dial(target, files, std::move(options));
}

std::shared_ptr<grpc::Channel> dial(const std::string& target, const TlsFiles& files,
                                    DialOptions options) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = load_pem(files.ca_certificate, "ca_certificate");
  warn_if_key_is_readable_by_others(files.private_key);
  ssl.pem_private_key = load_pem(files.private_key, "private_key");
  ssl.pem_cert_chain = load_pem(files.certificate, "certificate");
  grpc::ChannelArguments args;
  if (!options.tls_name.empty()) args.SetSslTargetNameOverride(options.tls_name);
  args.SetMaxReceiveMessageSize(4 << 20);
  args.SetInt(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  // After a coordinator restart, reconnect within seconds rather than gRPC's default of up to
  // two minutes; callers add their own backoff with jitter on top.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 500);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  // Each channel its own connections: a channel dialled afresh really reconnects.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  // The route is decided by the caller alone: gRPC would otherwise read https_proxy itself.
  if (options.http_proxy.empty()) {
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  } else {
    args.SetString(GRPC_ARG_HTTP_PROXY, options.http_proxy);
  }
  if (options.interceptors.empty()) {
    return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      target, grpc::SslCredentials(ssl), args, std::move(options.interceptors));
}

PeerIdentity peer_identity(const grpc::ServerContext& context) {
  PeerIdentity id;
  auto auth = context.auth_context();
  if (!auth || !auth->IsPeerAuthenticated()) return id;
  auto cn = auth->FindPropertyValues(GRPC_X509_CN_PROPERTY_NAME);
  if (!cn.empty()) id.common_name.assign(cn.front().data(), cn.front().size());
  auto subject = auth->FindPropertyValues(GRPC_X509_SUBJECT_PROPERTY_NAME);
  if (!subject.empty()) {
    id.role = subject_field(std::string(subject.front().data(), subject.front().size()), "OU");
  }
  auto pem = auth->FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (!pem.empty()) id.certificate_pem.assign(pem.front().data(), pem.front().size());
  return id;
}

std::string certificate_fingerprint(const std::string& pem) {
  return Sha256::of(pem.data(), pem.size());
}

int64_t certificate_not_after(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* cert = bio ? PEM_read_bio_X509(bio, nullptr, nullptr, nullptr) : nullptr;
  if (bio) BIO_free(bio);
  if (!cert) throw Error("not a PEM certificate");
  std::tm tm{};
  const int ok = ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm);
  X509_free(cert);
  if (ok != 1) throw Error("the certificate's notAfter is unreadable");
  return int64_t(timegm(&tm));
}

int64_t days_until(int64_t not_after) {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const int64_t seconds = not_after - now;
  return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

void warn_if_certificate_expires_soon(const std::string& path, const std::string& who) {
  int64_t days = 0;
  try {
    days = days_until(certificate_not_after(read_file(path)));
  } catch (const std::exception&) {
    return;
  }
  if (days < 0) {
    spdlog::error("{}: the certificate {} has expired; the consortium will refuse it until it is "
                  "renewed", who, path);
  } else if (days < kCertificateRenewalDays) {
    spdlog::warn("{}: the certificate {} expires in {} days; renew it before then", who, path, days);
  }
}

}  // namespace fedxray

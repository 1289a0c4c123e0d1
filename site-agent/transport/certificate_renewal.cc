#include "site-agent/transport/certificate_renewal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "fedxray/proto/enrollment.grpc.pb.h"
#include "pki/certificate_authority.h"
#include "pki/signing_request.h"

namespace fedxray {
namespace {

// One renewal at a time per kit (the agent's hourly upkeep and an operator's
// --renew-certificate share the ".next" files).
class RenewalLock {
 public:
  explicit RenewalLock(const TlsFiles& kit) {
    const std::string path = kit.private_key + ".lock";
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ < 0 || ::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      if (fd_ >= 0) ::close(fd_);
      throw Error("another certificate renewal of this kit is under way (" + path +
                  " is locked); try again when it is done");
    }
  }
  ~RenewalLock() { ::close(fd_); }
  RenewalLock(const RenewalLock&) = delete;
  RenewalLock& operator=(const RenewalLock&) = delete;

 private:
  int fd_ = -1;
};

void rename_into_place(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    throw Error("cannot move " + from + " to " + to +
                " (the renewal is completed the next time "
                "the agent starts)");
  }
}

}  // namespace

bool finish_interrupted_renewal(const TlsFiles& kit) {
  namespace fs = std::filesystem;
  if (!fs::exists(kit.private_key + ".next") && !fs::exists(kit.certificate + ".next")) {
    return false;
  }
  const RenewalLock lock(kit);
  const std::string key_next = kit.private_key + ".next";
  const std::string cert_next = kit.certificate + ".next";
  if (!fs::exists(cert_next)) {
    // Without the certificate a lone new key is of no use: the renewal never got that far.
    if (fs::exists(key_next)) fs::remove(key_next);
    return false;
  }
  if (fs::exists(key_next)) rename_into_place(key_next, kit.private_key);
  rename_into_place(cert_next, kit.certificate);
  spdlog::warn("completed a certificate renewal that was interrupted: {} and {} are the new pair",
               kit.private_key, kit.certificate);
  return true;
}

int64_t renew_certificate(const std::shared_ptr<grpc::Channel>& channel, const TlsFiles& kit,
                          const std::string& site) {
  const RenewalLock lock(kit);
  const std::string key = generate_private_key_pem();
  const std::string csr_pem = make_signing_request(key, site);
  const SigningRequest csr = read_signing_request(csr_pem);
  enrollment::RenewalRequest request;
  request.set_csr_pem(csr_pem);
  enrollment::EnrollmentState reply;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  const grpc::Status s = enrollment::Renewal::NewStub(channel)->Renew(&context, request, &reply);
  if (!s.ok()) throw Error("the coordinator did not renew the certificate: " + s.error_message());
  const int64_t not_after =
      check_issued_for(reply.certificate_pem(), csr, "site", read_file(kit.ca_certificate));
  write_file_atomically(kit.private_key + ".next", key, 0600);
  write_file_atomically(kit.certificate + ".next", reply.certificate_pem(), 0644);
  rename_into_place(kit.private_key + ".next", kit.private_key);
  rename_into_place(kit.certificate + ".next", kit.certificate);
  spdlog::info("site={} certificate renewed: {} ({}); the new key stays in {}", site,
               kit.certificate, reply.message(), kit.private_key);
  return not_after;
}

}  // namespace fedxray

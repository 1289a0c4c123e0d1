// Mutual TLS: the coordinator verifies a client certificate on every connection, and a site's
// identity is its certificate, never a field it sends.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "base/atomic_file.h"
#include "base/log.h"
#include "pki/revocation_list.h"
#include "tests/coordinator_fixture.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

// Captures what the coordinator logs while alive.
struct LogCapture {
  LogCapture() : sink(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)) {
    init_logging("info");  // routes gRPC's own messages (handshake failures) into spdlog
    previous = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
  // Polls briefly: gRPC logs a handshake failure on its own threads.
  bool contains(const std::string& text) const {
    for (int i = 0; i < 50; ++i) {
      for (const auto& line : sink->last_formatted()) {
        if (line.find(text) != std::string::npos) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink;
  std::shared_ptr<spdlog::logger> previous;
};

}  // namespace

TEST_CASE("a site with a certificate from the consortium CA is admitted", "[tls]") {
  CoordinatorFixture c(small_job("tls", 1, 1, 1));
  auto site = c.stub(kit("site-a"));
  grpc::Status s = join(*site, "site-a");
  CHECK(s.ok());
  CHECK(s.error_message().empty());
}

TEST_CASE("a connection without a client certificate is refused and logged", "[tls]") {
  LogCapture log;
  CoordinatorFixture c(small_job("tls", 1, 1, 1));
  grpc::SslCredentialsOptions only_trust;
  only_trust.pem_root_certs = read_file(kit("site-a").ca_certificate);
  auto channel = grpc::CreateChannel(c.target(), grpc::SslCredentials(only_trust));
  auto stub = wire::Coordinator::NewStub(channel);
  grpc::Status s = join(*stub, "site-a");
  CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(log.contains("refused a TLS connection"));
  CHECK(log.contains("peer did not return a certificate"));
}

TEST_CASE("a certificate issued by another CA is refused and logged", "[tls]") {
  LogCapture log;
  CoordinatorFixture c(small_job("tls", 1, 1, 1));
  TlsFiles intruder = kit("site-a", /*other_ca=*/true);
  intruder.ca_certificate = kit("site-a").ca_certificate;  // trusts the real coordinator
  auto stub = c.stub(intruder);
  grpc::Status s = join(*stub, "site-a");
  CHECK(s.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(log.contains("certificate verify failed"));
}

TEST_CASE("a site does not talk to a coordinator its CA did not certify", "[tls]") {
  CoordinatorFixture c(small_job("tls", 1, 1, 1));
  TlsFiles site = kit("site-a");
  site.ca_certificate = kit("site-a", /*other_ca=*/true).ca_certificate;
  auto stub = c.stub(site);
  CHECK(join(*stub, "site-a").error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("a site claiming to be another site is refused and logged", "[tls]") {
  LogCapture log;
  CoordinatorFixture c(small_job("tls", 1, 1, 1));
  auto stub = c.stub(kit("site-b"));
  grpc::Status s = join(*stub, "site-a");
  CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(s.error_message().find("belongs to site 'site-b', not 'site-a'") != std::string::npos);
  CHECK(log.contains("impersonation"));
}

TEST_CASE("an admin certificate cannot act as a site", "[tls]") {
  LogCapture log;
  CoordinatorFixture c(small_job("tls", 1, 1, 1));
  auto stub = c.stub(kit("alice"));
  grpc::Status s = join(*stub, "alice");
  CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(log.contains("is not a site certificate"));
}

TEST_CASE("a site the coordinator config does not list is refused", "[tls]") {
  CoordinatorFixture c(small_job("tls", 1, 1, 1), {"site-a", "site-b"});
  auto stub = c.stub(kit("site-c"));
  grpc::Status s = join(*stub, "site-c");
  CHECK(s.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK(s.error_message().find("neither listed in coordinator.sites nor enrolled") !=
        std::string::npos);
}

TEST_CASE("a revoked site is refused from its next call on, without a restart", "[tls][revocation]") {
  testing::CoordinatorFixture c(testing::small_job("revocation", 1, 1, 1));
  auto b = c.stub(testing::kit("site-b"));
  auto a = c.stub(testing::kit("site-a"));
  REQUIRE(testing::join(*b, "site-b").ok());
  testing::TempDir dir;
  const std::string crl = dir.path + "/crl.pem";
  const std::string ca = testing::kits_dir() + "/ca/";
  c.server->use_revocation_list(crl, read_file(ca + "ca.crt"));  // no file yet: nothing revoked
  REQUIRE(testing::join(*b, "site-b").ok());
  write_file_atomically(crl, add_to_revocation_list(read_file(ca + "ca.crt"), read_file(ca + "ca.key"), "",
                                                    read_file(testing::kit("site-b").certificate)));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the watcher re-reads at most 1/s
  grpc::Status refused = testing::join(*b, "site-b");
  CHECK(refused.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(refused.error_message(), Catch::Contains("site-b") && Catch::Contains("revoked"));
  CHECK(testing::join(*a, "site-a").ok());  // the others are unaffected
  // A list signed by another CA is ignored (logged), so it cannot lock anyone out or in.
  const std::string other = testing::kits_dir(true) + "/ca/";
  CHECK_THROWS_WITH(revoked_serials(add_to_revocation_list(read_file(other + "ca.crt"),
                                                           read_file(other + "ca.key"), "",
                                                           read_file(testing::kit("site-a", true).certificate)),
                                    read_file(ca + "ca.crt")),
                    Catch::Contains("not signed by the consortium CA"));
  // Revocations accumulate.
  const std::string both = add_to_revocation_list(read_file(ca + "ca.crt"), read_file(ca + "ca.key"),
                                                  read_file(crl), read_file(testing::kit("site-a").certificate));
  CHECK(revoked_serials(both, read_file(ca + "ca.crt")).size() == 2);
}

TEST_CASE("an older revocation list does not replace a newer one", "[tls][revocation]") {
  testing::TempDir dir;
  const std::string crl = dir.path + "/crl.pem";
  const std::string ca = testing::kits_dir() + "/ca/";
  const std::string ca_crt = read_file(ca + "ca.crt"), ca_key = read_file(ca + "ca.key");
  const std::string site_a = read_file(testing::kit("site-a").certificate);
  const std::string site_b = read_file(testing::kit("site-b").certificate);
  const std::string old_list = add_to_revocation_list(ca_crt, ca_key, "", site_a, 1700000000);
  const std::string new_list = add_to_revocation_list(ca_crt, ca_key, old_list, site_b, 1700000100);
  CHECK(read_revocation_list(new_list, ca_crt).issued_at == 1700000100);
  write_file_atomically(crl, new_list);
  RevocationWatcher watcher(crl, ca_crt);
  REQUIRE(watcher.is_revoked(site_a));
  REQUIRE(watcher.is_revoked(site_b));
  // Someone puts back the older list (only site-a revoked): site-b stays revoked.
  write_file_atomically(crl, old_list);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // the watcher re-reads at most 1/s
  CHECK(watcher.is_revoked(site_b));
  CHECK(watcher.is_revoked(site_a));
  // Nor does a list issued in the same second that drops a revocation.
  write_file_atomically(crl, add_to_revocation_list(ca_crt, ca_key, "", site_a, 1700000100));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(watcher.is_revoked(site_b));
}

TEST_CASE("a coordinator built with its revocation gate refuses a revoked site's first call",
          "[tls][revocation]") {
  testing::TempDir dir;
  const std::string crl = dir.path + "/crl.pem";
  const std::string ca = testing::kits_dir() + "/ca/";
  write_file_atomically(crl, add_to_revocation_list(read_file(ca + "ca.crt"), read_file(ca + "ca.key"),
                                                    "", read_file(testing::kit("site-b").certificate)));
  CoordinatorGates gates;
  gates.revocation = std::make_shared<RevocationWatcher>(crl, read_file(ca + "ca.crt"));
  CoordinatorServer server([] { return std::shared_ptr<JobRunner>(); }, "127.0.0.1:0",
                           make_server_credentials(testing::kit("coordinator")), {}, gates);
  auto b = wire::Coordinator::NewStub(
      dial("127.0.0.1:" + std::to_string(server.port()), testing::kit("site-b")));
  grpc::Status refused = testing::join(*b, "site-b");
  CHECK(refused.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(refused.error_message(), Catch::Contains("revoked"));
}

// Enrolment with real processes: a new hospital makes its key on its own machine
// (`fedxray enroll`), sends its signing request to the running coordinator's enrolment port
// with an admin's one-time token, an admin approves it with `fedxray admin approve`, the site
// collects its certificate and trains in the next job: no coordinator restart, no config edit,
// and the private key never leaves the site's folder. Also: the CA kept offline
// (`fedxray provision sign` + approve --certificate), rejection, misused tokens, researchers.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "base/atomic_file.h"
#include "pki/tls.h"
#include "tests/process_consortium.h"
#include "tests/process_support.h"
#include "tests/test_support.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

struct EnrollingConsortium : Consortium {
  // `ca_on_coordinator`: the coordinator holds the CA key and signs approved requests itself.
  explicit EnrollingConsortium(bool ca_on_coordinator, const std::string& more = "")
      : Consortium("  researchers: [rita]\n" + more), enrollment_port(free_loopback_port()) {
    std::ofstream(kits() + "/coordinator/coordinator.yaml", std::ios::app)
        << "  enrollment_listen: \"127.0.0.1:" << enrollment_port << "\"\n"
        << (ca_on_coordinator ? "  ca_private_key: ../ca/ca.key\n" : "");
  }
  // Issues a token for `site` and writes it to a 0600 file; returns the file.
  std::string token_file(const std::string& site) const {
    std::string out;
    REQUIRE(run_fedxray(admin({"--json", "enrollment-token", site}), out) == 0);
    const std::string key = "\"token\": \"";
    const std::size_t at = out.find(key);
    REQUIRE(at != std::string::npos);
    const std::string token =
        out.substr(at + key.size(), out.find('"', at + key.size()) - at - key.size());
    const std::string file = dir.path + "/" + site + ".token";
    write_file_atomically(file, token + "\n", 0600);
    return file;
  }
  std::vector<std::string> enroll(const std::string& site, const std::string& token_file) const {
    std::vector<std::string> a{"enroll",
                               "--name",
                               site,
                               "--out",
                               kit(site),
                               "--coordinator",
                               target(),
                               "--enrollment",
                               "127.0.0.1:" + std::to_string(enrollment_port),
                               "--ca",
                               kits() + "/ca/ca.crt"};
    if (!token_file.empty()) {
      a.push_back("--token-file");
      a.push_back(token_file);
    }
    return a;
  }
  std::string kit(const std::string& site) const { return dir.path + "/" + site + "-kit"; }
  int enrollment_port;
};

}  // namespace

TEST_CASE(
    "a hospital enrols with a key made on its own machine, an admin approves it, and it "
    "trains in the next job without a coordinator restart",
    "[enrollment]") {
  EnrollingConsortium c(true);
  Process coordinator(c.coordinator_args(""), c.dir.path + "/coordinator.log");
  std::string out;
  for (int i = 0; i < 150 && run_fedxray(c.admin({"jobs"}), out) != 0; ++i) {
  }
  const std::string token = c.token_file("hospital-d");

  // A token is bound to its name: another site cannot use it.
  CHECK(run_fedxray(c.enroll("hospital-e", token), out) == 1);
  CHECK_THAT(out, Catch::Contains("not a valid enrolment token for 'hospital-e'"));

  // The request: pending until an admin decides (exit 4), the key 0600 in the site's folder.
  REQUIRE(run_fedxray(c.enroll("hospital-d", token), out) == 4);
  CHECK_THAT(out, Catch::Contains("waiting for a consortium admin"));
  const std::string sha_label = "SHA-256 ";
  const std::size_t sha_at = out.find(sha_label);
  REQUIRE(sha_at != std::string::npos);
  const std::string request_sha = out.substr(sha_at + sha_label.size(), 64);
  struct stat st {};
  REQUIRE(::stat((c.kit("hospital-d") + "/hospital-d.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // Sent again with the spent token: the coordinator already has it, so this only asks.
  REQUIRE(run_fedxray(c.enroll("hospital-d", token), out) == 4);
  REQUIRE(run_fedxray(c.admin({"enrollments"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("hospital-d") && Catch::Contains("pending"));

  // Researchers may not decide; admins may.
  CHECK(run_fedxray(c.admin({"approve", "hospital-d"}, "rita"), out) == 1);
  CHECK_THAT(out, Catch::Contains("needs an admin certificate"));
  // The admin compares the request's SHA-256 with what the site read out: another is refused.
  CHECK(run_fedxray(c.admin({"approve", "hospital-d", "--request-sha256", std::string(64, '0')}),
                    out) == 1);
  CHECK_THAT(out, Catch::Contains("do not approve it"));
  REQUIRE(run_fedxray(c.admin({"approve", "hospital-d", "--request-sha256", request_sha}), out) ==
          0);
  CHECK_THAT(out, Catch::Contains("approved by CN=alice,OU=admin"));
  REQUIRE(run_fedxray(c.enroll("hospital-d", ""), out) == 0);
  CHECK_THAT(out, Catch::Contains("enrolled"));
  REQUIRE(std::filesystem::exists(c.kit("hospital-d") + "/hospital-d.crt"));
  REQUIRE(run_fedxray(c.admin({"sites"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("hospital-d"));  // on the roster before it ever connected

  // hospital-d is not in coordinator.sites, yet it trains with site-a in the next job.
  REQUIRE(run_fedxray(c.admin({"submit", c.write_job("with-d", 2)}), out) == 0);
  Process site_a(c.site_args("site-a"), c.dir.path + "/site-a.log");
  Process site_d({"site", "--config", c.kit("hospital-d") + "/site.yaml", "--give-up-after", "120"},
                 c.dir.path + "/hospital-d.log");
  CHECK(site_a.wait(180) == 0);
  CHECK(site_d.wait(60) == 0);
  CHECK_THAT(read_file(c.dir.path + "/hospital-d.log"), Catch::Contains("all 2 rounds completed"));

  // The private key never reached the coordinator: its state holds the request, not the key.
  const std::string key = read_file(c.kit("hospital-d") + "/hospital-d.key");
  // (PKCS#8 EC keys share their first 48 base64 characters; the private scalar follows.)
  const std::string key_body = key.substr(key.find('\n') + 1 + 48, 16);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(c.kits())) {
    if (entry.is_regular_file()) CHECK(read_file(entry.path()).find(key_body) == std::string::npos);
  }
  // Its key is lost: the admin takes it off the roster, and it can neither join nor renew.
  REQUIRE(run_fedxray(c.admin({"remove-site", "hospital-d", "--reason", "key lost"}), out) == 0);
  CHECK(run_fedxray({"site", "--config", c.kit("hospital-d") + "/site.yaml", "--renew-certificate"},
                    out) == 2);
  CHECK_THAT(out, Catch::Contains("not on the consortium's roster"));
  REQUIRE(run_fedxray(c.admin({"submit", c.write_job("without-d", 1)}), out) == 0);
  CHECK(
      run_fedxray({"site", "--config", c.kit("hospital-d") + "/site.yaml", "--give-up-after", "5"},
                  out) == 2);
  CHECK_THAT(out, Catch::Contains("removed from the consortium's roster"));
  REQUIRE(run_fedxray(c.admin({"abort", "without-d"}), out) == 0);
  REQUIRE(run_fedxray(c.admin({"audit", "--limit", "0"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("enrollment-token") && Catch::Contains("enrollment request") &&
                      Catch::Contains("approve") && Catch::Contains("remove-site"));
  coordinator.kill(SIGTERM);
  CHECK(coordinator.wait(30) == 0);
}

TEST_CASE(
    "with the CA kept offline an admin approves with the certificate provision sign made, "
    "and a rejected site is told why",
    "[enrollment]") {
  EnrollingConsortium c(false);
  Process coordinator(c.coordinator_args(""), c.dir.path + "/coordinator.log");
  std::string out;
  for (int i = 0; i < 150 && run_fedxray(c.admin({"jobs"}), out) != 0; ++i) {
  }
  REQUIRE(run_fedxray(c.enroll("hospital-f", c.token_file("hospital-f")), out) == 4);
  CHECK(run_fedxray(c.admin({"approve", "hospital-f"}), out) == 1);
  CHECK_THAT(out, Catch::Contains("holds no CA key") && Catch::Contains("provision sign"));
  // The CA's machine signs the request; the coordinator checks the certificate against it.
  REQUIRE(
      run_fedxray({"provision", "sign", c.kit("hospital-f") + "/hospital-f.csr", "--out", c.kits()},
                  out) == 0);
  const std::string signed_cert = c.kits() + "/hospital-f/hospital-f.crt";
  CHECK(run_fedxray(
            c.admin({"approve", "hospital-f", "--certificate", c.kits() + "/site-a/site-a.crt"}),
            out) == 1);
  CHECK_THAT(out, Catch::Contains("another key"));  // site-a's certificate is not for this request
  REQUIRE(run_fedxray(c.admin({"approve", "hospital-f", "--certificate", signed_cert}), out) == 0);
  REQUIRE(run_fedxray(c.enroll("hospital-f", ""), out) == 0);
  CHECK(read_file(c.kit("hospital-f") + "/hospital-f.crt") == read_file(signed_cert));
  // Revocation finds the certificate where provision sign left it.
  REQUIRE(run_fedxray({"provision", "revoke", "hospital-f", "--out", c.kits()}, out) == 0);

  REQUIRE(run_fedxray(c.enroll("hospital-g", c.token_file("hospital-g")), out) == 4);
  REQUIRE(run_fedxray(c.admin({"reject", "hospital-g", "--reason", "not a consortium member"}),
                      out) == 0);
  CHECK(run_fedxray(c.enroll("hospital-g", ""), out) == 1);
  CHECK_THAT(out, Catch::Contains("rejected") && Catch::Contains("not a consortium member"));
  CHECK(run_fedxray(c.admin({"approve", "hospital-g"}), out) == 1);
  // Without a token nothing is recorded.
  CHECK(run_fedxray(c.enroll("hospital-h", ""), out) == 2);
  CHECK_THAT(out, Catch::Contains("--token-file"));
  // Without the CA key the coordinator cannot renew either, and the kit stays as it was.
  const std::string before = read_file(c.kits() + "/site-a/site-a.crt");
  std::vector<std::string> renew = c.site_args("site-a");
  renew.push_back("--renew-certificate");
  CHECK(run_fedxray(renew, out) == 2);
  CHECK_THAT(out, Catch::Contains("holds no CA key") && Catch::Contains("provision sign"));
  CHECK(read_file(c.kits() + "/site-a/site-a.crt") == before);
  coordinator.kill(SIGTERM);
  CHECK(coordinator.wait(30) == 0);
}

TEST_CASE(
    "sites whose certificates expire within 30 days renew them by themselves with new keys, "
    "one at start and one while waiting for work, and the job runs on",
    "[enrollment]") {
  EnrollingConsortium c(true, "  validity_days: 20\n");  // every certificate is due at once
  const std::string cert_a = c.kits() + "/site-a/site-a.crt";
  const std::string old_a = read_file(cert_a),
                    old_key_a = read_file(c.kits() + "/site-a/site-a.key");
  const std::string old_b = read_file(c.kits() + "/site-b/site-b.crt");
  // site-a starts before the coordinator: it cannot renew at start, so it renews while waiting.
  Process site_a(c.site_args("site-a", true), c.dir.path + "/site-a.log");
  std::this_thread::sleep_for(std::chrono::seconds(2));
  Process coordinator(c.coordinator_args(c.write_job("renewed", 2)),
                      c.dir.path + "/coordinator.log");
  std::string out;
  for (int i = 0; i < 150 && run_fedxray(c.admin({"jobs"}), out) != 0; ++i) {
  }
  // site-b starts once the coordinator answers: it renews before it joins.
  Process site_b(c.site_args("site-b"), c.dir.path + "/site-b.log");
  REQUIRE(coordinator.wait(240) == 0);
  CHECK(site_b.wait(30) == 0);
  site_a.kill(SIGTERM);
  site_a.wait(30);

  const std::string log_a = read_file(c.dir.path + "/site-a.log");
  CHECK_THAT(log_a, Catch::Contains("could not renew its certificate yet"));
  CHECK_THAT(log_a, Catch::Contains("certificate renewed"));
  CHECK(read_file(cert_a) != old_a);
  CHECK(read_file(c.kits() + "/site-a/site-a.key") != old_key_a);  // a new key, made at the site
  CHECK(read_file(c.kits() + "/site-b/site-b.crt") != old_b);
  CHECK(days_until(certificate_not_after(read_file(cert_a))) > 800);
  CHECK_FALSE(std::filesystem::exists(cert_a + ".next"));
  StateDatabase db(c.state_dir());
  CHECK(completed(db.rounds("renewed")) == 2);
  Process serving(c.coordinator_args(""), c.dir.path + "/coordinator-2.log");
  for (int i = 0; i < 150 && run_fedxray(c.admin({"jobs"}), out) != 0; ++i) {
  }
  REQUIRE(run_fedxray(c.admin({"audit", "--limit", "0"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("CN=site-a,OU=site") && Catch::Contains("renew"));
  serving.kill(SIGTERM);
  serving.wait(30);
}

// Provisioning: a CA, one kit per participant, keys 0600, re-runs never overwrite keys.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <sstream>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "base/atomic_file.h"
#include "config/admin_config.h"
#include "config/consortium_config.h"
#include "config/site_config.h"
#include "pki/provisioning.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

ConsortiumConfig consortium() {
  ConsortiumConfig c;
  c.name = "kyushu-ra";
  c.coordinator_hosts = {"fl.example.org", "127.0.0.1"};
  c.sites = {"hospital-a", "hospital-b"};
  c.admins = {"alice"};
  return c;
}

X509* load_cert(const std::string& path) {
  std::string pem = read_file(path);
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

int mode_of(const std::string& path) {
  struct stat st {};
  ::stat(path.c_str(), &st);
  return int(st.st_mode & 0777);
}

}  // namespace

TEST_CASE("provision writes a CA and a complete startup kit per participant", "[provision]") {
  testing::TempDir dir;
  provision_consortium(consortium(), dir.path, false);
  for (std::string name : {"coordinator", "hospital-a", "hospital-b", "alice"}) {
    INFO(name);
    CHECK(fs::exists(dir.path + "/" + name + "/" + name + ".crt"));
    CHECK(fs::exists(dir.path + "/" + name + "/ca.crt"));
    CHECK(mode_of(dir.path + "/" + name + "/" + name + ".key") == 0600);
  }
  CHECK(mode_of(dir.path + "/ca/ca.key") == 0600);
  CHECK(fs::exists(dir.path + "/coordinator/coordinator.yaml"));
  CHECK(fs::exists(dir.path + "/hospital-a/site.yaml"));
  CHECK(fs::exists(dir.path + "/alice/admin.yaml"));
}

TEST_CASE("certificates chain to the CA and carry the subject and SANs", "[provision]") {
  testing::TempDir dir;
  provision_consortium(consortium(), dir.path, false);
  X509* ca = load_cert(dir.path + "/ca/ca.crt");
  X509* server = load_cert(dir.path + "/coordinator/coordinator.crt");
  X509* site = load_cert(dir.path + "/hospital-a/hospital-a.crt");
  REQUIRE(ca);
  REQUIRE(server);
  REQUIRE(site);
  EVP_PKEY* ca_key = X509_get_pubkey(ca);
  CHECK(X509_verify(server, ca_key) == 1);
  CHECK(X509_verify(site, ca_key) == 1);
  CHECK(X509_check_host(server, "fl.example.org", 0, 0, nullptr) == 1);
  CHECK(X509_check_ip_asc(server, "127.0.0.1", 0) == 1);
  CHECK(X509_check_host(server, "evil.example.org", 0, 0, nullptr) == 0);
  char cn[64] = {0}, ou[64] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(site), NID_commonName, cn, sizeof(cn));
  X509_NAME_get_text_by_NID(X509_get_subject_name(site), NID_organizationalUnitName, ou,
                            sizeof(ou));
  CHECK(std::string(cn) == "hospital-a");
  CHECK(std::string(ou) == "site");
  EVP_PKEY_free(ca_key);
  X509_free(ca);
  X509_free(server);
  X509_free(site);
}

TEST_CASE("re-running provision keeps keys, a new site is added, --force replaces", "[provision]") {
  testing::TempDir dir;
  provision_consortium(consortium(), dir.path, false);
  const std::string key = read_file(dir.path + "/hospital-a/hospital-a.key");
  const std::string ca_key = read_file(dir.path + "/ca/ca.key");
  write_file_atomically(dir.path + "/hospital-a/site.yaml", "# edited by hospital IT\n");

  ConsortiumConfig grown = consortium();
  grown.sites.push_back("hospital-c");
  ProvisionReport again = provision_consortium(grown, dir.path, false);
  CHECK(read_file(dir.path + "/hospital-a/hospital-a.key") == key);
  CHECK(read_file(dir.path + "/ca/ca.key") == ca_key);
  CHECK(read_file(dir.path + "/hospital-a/site.yaml") == "# edited by hospital IT\n");
  CHECK(fs::exists(dir.path + "/hospital-c/hospital-c.crt"));
  X509* ca = load_cert(dir.path + "/ca/ca.crt");
  X509* c = load_cert(dir.path + "/hospital-c/hospital-c.crt");
  EVP_PKEY* ca_pub = X509_get_pubkey(ca);
  CHECK(X509_verify(c, ca_pub) == 1);  // signed by the existing CA
  EVP_PKEY_free(ca_pub);
  X509_free(ca);
  X509_free(c);

  provision_consortium(grown, dir.path, true);
  CHECK(read_file(dir.path + "/hospital-a/hospital-a.key") != key);
  CHECK(read_file(dir.path + "/ca/ca.key") != ca_key);
  CHECK(mode_of(dir.path + "/hospital-a/hospital-a.key") == 0600);
}

TEST_CASE("site kits get seeds of their own and teach each real source with an example that loads",
          "[provision]") {
  testing::TempDir dir;
  ConsortiumConfig c = consortium();
  c.researchers = {"rita"};
  provision_consortium(c, dir.path, false);
  const SiteConfig a = load_site_config(dir.path + "/hospital-a/site.yaml");
  const SiteConfig b = load_site_config(dir.path + "/hospital-b/site.yaml");
  CHECK(a.data.source == "synthetic");
  CHECK(a.data.seed != b.data.seed);  // a first federation shows sites that differ
  const std::string kit = read_file(dir.path + "/hospital-a/site.yaml");
  CHECK(kit.find("later release") == std::string::npos);

  // Each commented example, uncommented in place of the synthetic block, is a valid site config.
  const std::size_t data_at = kit.find("  data:\n");
  REQUIRE(data_at != std::string::npos);
  const std::string head = kit.substr(0, data_at + 8);
  std::vector<std::string> blocks;  // "# source: ..." up to the next blank line
  for (std::size_t at = kit.find("    # source: "); at != std::string::npos;
       at = kit.find("    # source: ", at + 1)) {
    const std::size_t end = kit.find("\n\n", at);
    std::string block, line;
    std::istringstream lines(
        kit.substr(at, end == std::string::npos ? std::string::npos : end - at));
    while (std::getline(lines, line)) {
      const std::size_t hash = line.find("# ");
      std::string code = "    " + line.substr(hash + 2);
      const std::size_t comment = code.find("   #");
      if (comment != std::string::npos) code = code.substr(0, comment);
      block += code + "\n";
    }
    blocks.push_back(block);
  }
  REQUIRE(blocks.size() == 4);  // image folder, DICOM, npz, PACS
  std::set<std::string> sources;
  for (const std::string& block : blocks) {
    INFO(block);
    write_file_atomically(dir.path + "/hospital-a/example.yaml", head + block);
    const SiteConfig example = load_site_config(dir.path + "/hospital-a/example.yaml");
    sources.insert(example.data.source);
  }
  CHECK(sources == std::set<std::string>{"image_folder", "npz", "pacs"});

  // The researcher's kit: its own certificate (OU=researcher) and an admin CLI config.
  CHECK(fs::exists(dir.path + "/rita/rita.crt"));
  CHECK(load_admin_config(dir.path + "/rita/admin.yaml").name == "rita");
  X509* cert = load_cert(dir.path + "/rita/rita.crt");
  REQUIRE(cert);
  char ou[64] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_organizationalUnitName, ou,
                            sizeof(ou));
  X509_free(cert);
  CHECK(std::string(ou) == "researcher");

  // An admin moved to the researchers keeps no admin certificate: the re-run refuses and says how.
  ConsortiumConfig moved = c;
  moved.admins.clear();
  moved.researchers = {"rita", "alice"};
  CHECK_THROWS_WITH(provision_consortium(moved, dir.path, false),
                    Catch::Contains("alice.crt was issued for role 'admin'") &&
                        Catch::Contains("provision revoke alice"));
}

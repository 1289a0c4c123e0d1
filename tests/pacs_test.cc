// Images from a PACS: WADO-RS multipart parsing, the pacs config, and a real Orthanc on loopback
// read over DICOMweb and DIMSE: labels joined by accession number, incremental sync, quarantine,
// a PACS that goes away, the cache bound, credentials, and the resume after a killed sync.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "config/site_config.h"
#include "data/dicom_file.h"
#include "data/dicomweb_archive.h"
#include "data/dimse_archive.h"
#include "data/multipart_related.h"
#include "data/pacs_source.h"
#include "tests/orthanc_server.h"
#include "tests/pacs_studies.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
using fedxray::testing::Study;
using fedxray::testing::upload_studies;
using fedxray::testing::write_study;
namespace fs = std::filesystem;

namespace {

// The site's data section for a pacs source over `protocol`, with a labels file by accession.
DataSourceConfig pacs_config(const testing::OrthancServer& pacs, const std::string& dir,
                             const std::string& protocol = "dicomweb") {
  DataSourceConfig c;
  c.source = "pacs";
  c.deid_cache = dir + "/deid";
  c.held_out_fraction = 0.25;
  c.pacs.protocol = protocol;
  c.pacs.url = pacs.dicomweb_url();
  c.pacs.host = "127.0.0.1";
  c.pacs.port = pacs.dicom_port();
  c.pacs.called_ae = pacs.ae_title();
  c.pacs.calling_ae = "FEDXRAY";
  c.pacs.labels = dir + "/labels.csv";
  c.pacs.retries = 2;
  c.pacs.retry_seconds = 0.05;
  c.pacs.timeout_seconds = 5;
  return c;
}

const char* const kNoOrthanc =
    "Orthanc with its DICOMweb plugin is not installed (scripts/setup.sh installs it)";

// Where a test writes the DICOM files it uploads.
std::string made_folder(const testing::TempDir& dir) {
  fs::create_directories(dir.path + "/made");
  return dir.path + "/made";
}

// A pacs source for a stand-in DICOMweb server at `origin` (one try per request).
DataSourceConfig stub_pacs_config(const testing::TempDir& dir, const std::string& origin) {
  write_file_atomically(dir.path + "/labels.csv", "accession_number,label\nACC6000,1\n");
  DataSourceConfig config;
  config.source = "pacs";
  config.deid_cache = dir.path + "/deid";
  config.pacs.url = origin + "/dicom-web";
  config.pacs.labels = dir.path + "/labels.csv";
  config.pacs.retries = 1;
  return config;
}

std::string cache_journal(const DataSourceConfig& c) {
  return c.deid_cache + "/pacs/instances.jsonl";
}

}  // namespace

TEST_CASE("a WADO-RS multipart reply splits into its parts and malformed ones are refused",
          "[pacs]") {
  const std::string body =
      "preamble\r\n--XyZ\r\nContent-Type: application/dicom\r\n\r\nDICM\r\n--one\r\n"
      "--XyZ\r\nContent-Type: application/dicom\r\nContent-Length: 3\r\n\r\nabc\r\n--XyZ--\r\n";
  const auto parts =
      split_multipart_related("multipart/related; type=\"application/dicom\"; boundary=XyZ", body);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].body == "DICM\r\n--one");  // a line that only looks like a delimiter stays
  CHECK(parts[0].content_type == "application/dicom");
  CHECK(parts[1].body == "abc");
  CHECK(split_multipart_related("multipart/related; boundary=\"XyZ\"; type=\"application/dicom\"",
                                body)
            .size() == 2);
  CHECK(
      split_multipart_related("multipart/related;boundary=b", "--b\r\n\r\nx\r\n--b--").at(0).body ==
      "x");

  CHECK_THROWS_WITH(split_multipart_related("application/dicom", body),
                    Catch::Contains("not multipart/related"));
  CHECK_THROWS_WITH(split_multipart_related("multipart/related; type=x", body),
                    Catch::Contains("no usable boundary"));
  CHECK_THROWS_WITH(split_multipart_related("multipart/related; boundary=Q", body),
                    Catch::Contains("no opening delimiter"));
  CHECK_THROWS_WITH(split_multipart_related("multipart/related; boundary=XyZ", body.substr(0, 60)),
                    Catch::Contains("no closing delimiter"));
  CHECK_THROWS_WITH(
      split_multipart_related("multipart/related; boundary=b", "--b\r\nContent-Type: x\r\n--b--"),
      Catch::Contains("no closing delimiter") || Catch::Contains("no blank line"));
  // Every prefix of a valid reply either parses or throws; none reads out of bounds (ASan runs).
  for (std::size_t n = 0; n < body.size(); ++n) {
    try {
      split_multipart_related("multipart/related; boundary=XyZ", body.substr(0, n));
    } catch (const Error&) {
    }
  }
}

TEST_CASE("the pacs data source config: keys, and errors that name the key and the fix",
          "[pacs][config]") {
  testing::TempDir dir;
  auto site = [&](const std::string& pacs) {
    const std::string path = dir.path + "/site.yaml";
    write_file_atomically(path, "data:\n  source: pacs\n  label_column: finding\n  pacs:\n" + pacs);
    return path;
  };
  const DataSourceConfig c = load_data_source_config(site(
      "    url: https://pacs.example/dicom-web\n    labels: labels.csv\n    study_date: 20230101-\n"
      "    modality: CR\n    body_part: CHEST\n    cache_max_mb: 100\n"));
  CHECK(c.source == "pacs");
  CHECK(c.label_column == "finding");
  CHECK(c.pacs.protocol == "dicomweb");
  CHECK(c.pacs.labels == dir.path + "/labels.csv");
  CHECK(c.pacs.study_date == "20230101-");
  CHECK(c.pacs.cache_max_mb == 100);
  const DataSourceConfig d = load_data_source_config(
      site("    protocol: dimse\n    host: pacs.example\n    port: 11112\n    called_ae: ARCHIVE\n"
           "    labels: labels.csv\n"));
  CHECK(d.pacs.host == "pacs.example");
  CHECK(d.pacs.port == 11112);
  CHECK(d.pacs.called_ae == "ARCHIVE");
  CHECK(d.pacs.calling_ae == "FEDXRAY");
  CHECK_FALSE(d.pacs.tls);
  const DataSourceConfig t = load_data_source_config(
      site("    protocol: dimse\n    host: p\n    labels: l.csv\n    tls: true\n"
           "    ca_certificate: ca.pem\n    client_certificate: a.pem\n    client_key: a.key\n"));
  CHECK(t.pacs.tls);
  CHECK(t.pacs.ca_certificate == dir.path + "/ca.pem");
  CHECK_THROWS_WITH(
      load_data_source_config(site("    protocol: dimse\n    host: p\n    labels: l.csv\n"
                                   "    tls: true\n    ca_certificate: ca.pem\n")),
      Catch::Contains("'data.pacs.tls'") && Catch::Contains("client_certificate"));

  CHECK_THROWS_WITH(
      load_data_source_config(site("    url: pacs.example/dicom-web\n    labels: l.csv\n")),
      Catch::Contains("site.yaml:5") && Catch::Contains("'data.pacs.url'") &&
          Catch::Contains("https://"));
  CHECK_THROWS_WITH(load_data_source_config(site(
                        "    url: https://p/dicom-web\n    labels: l.csv\n    username: it\n")),
                    Catch::Contains("password_file"));
  CHECK_THROWS_WITH(
      load_data_source_config(site("    protocol: dimse\n    host: p\n    labels: l.csv\n"
                                   "    calling_ae: A-VERY-LONG-AE-TITLE\n")),
      Catch::Contains("'data.pacs.calling_ae'") && Catch::Contains("1-16 characters"));
  CHECK_THROWS_WITH(load_data_source_config(site("    url: https://p/dicom-web\n")),
                    Catch::Contains("'data.pacs.labels'"));
  CHECK_THROWS_WITH(load_data_source_config(
                        site("    url: https://p/dicom-web\n    labels: l.csv\n    colour: x\n")),
                    Catch::Contains("colour"));
}

TEST_CASE("a site reads its PACS over DICOMweb: labels joined by accession, then only what is new",
          "[pacs][orthanc]") {
  if (!testing::OrthancServer::available()) FEDXRAY_SKIP(kNoOrthanc);
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc");
  const std::string made = made_folder(dir);
  std::vector<Study> studies = {{"PID-001", "Yamada^Taro", "ACC1001", 2},
                                {"PID-001", "Yamada^Taro", "ACC1002", 1},
                                {"PID-002", "Suzuki^Hanako", "ACC1003", 2},
                                {"PID-003", "Tanaka^Ichiro", "ACC1004", 1},
                                {"PID-004", "Sato^Jiro", "ACC1005", 1},
                                {"PID-005", "Ito^Akiko", "ACC1006", 1, true},  // burned-in text
                                {"PID-006", "Kato^Ken", "ACC9999", 3}};        // not in the labels
  for (const Study& s : studies) {
    for (const auto& f : write_study(made, s)) pacs.upload(f);
  }
  write_file_atomically(dir.path + "/labels.csv",
                        "accession_number,label\nACC1001,0\nACC1002,1\nACC1003,1\nACC1004,0\n"
                        "ACC1005,1\nACC1006,0\nACC7777,1\n");
  DataSourceConfig config = pacs_config(pacs, dir.path);

  PacsSource source(config);
  const PacsSyncReport first = source.sync();
  CHECK(first.studies_found == 7);
  CHECK(first.studies_wanted == 6);  // ACC9999 has no label: its 3 instances are not fetched
  CHECK(first.instances_found == 8);
  CHECK(first.fetched == 7);
  CHECK(first.quarantined == 1);  // the burned-in annotation, refused by the gate
  CHECK(first.failed == 0);
  CHECK(first.stopped.empty());
  CHECK(first.bytes_retrieved > 7 * 24 * 24 * 2);
  CHECK(source.size() == 7);

  // What is cached is de-identified: no name, ID or accession number in any copy or the manifest.
  const std::string manifest = read_file(source.write_manifest());
  CHECK(manifest.rfind("filename,label,patient\n", 0) == 0);
  for (const Study& s : studies) {
    CHECK(manifest.find(s.accession) == std::string::npos);
    CHECK(manifest.find(s.patient_id) == std::string::npos);
  }
  const std::string journal = read_file(cache_journal(config));
  for (const auto& entry : fs::directory_iterator(config.deid_cache)) {
    if (entry.path().extension() != ".dcm") continue;
    const std::string bytes = read_file(entry.path().string());
    for (const Study& s : studies) {
      INFO(entry.path() << " " << s.patient_id);
      CHECK(bytes.find(s.patient_id) == std::string::npos);
      CHECK(bytes.find(s.accession) == std::string::npos);
      CHECK(bytes.find("Yamada") == std::string::npos);
    }
  }
  // The burned-in instance is in quarantine, with its reason, and is not fetched again.
  CHECK(journal.find("Burned In Annotation") != std::string::npos);
  std::size_t quarantined_files = 0;
  for (const auto& q : fs::directory_iterator(config.deid_cache + "/pacs/quarantine")) {
    ++quarantined_files;
    CHECK((fs::status(q.path()).permissions() & (fs::perms::group_all | fs::perms::others_all)) ==
          fs::perms::none);
  }
  CHECK(quarantined_files == 1);
  CHECK(fs::is_empty(config.deid_cache + "/pacs/incoming"));

  // Loading trains on the labelled, usable instances, split by patient (PID-001's three
  // instances, in two studies, stay on one side).
  const TrainHeldOut data = source.load(2, 16);
  CHECK(data.train.count() + data.held_out.count() == 7);
  CHECK(data.held_out.count() > 0);

  // Incremental: nothing new, nothing fetched; one new study, one instance fetched.
  PacsSource again(config);  // a new agent process reads the same cache
  const PacsSyncReport second = again.sync();
  CHECK(again.size() == 7);
  CHECK(second.fetched == 0);
  CHECK(second.already_cached == 8);
  CHECK(second.quarantined == 0);
  CHECK(second.bytes_retrieved == 0);
  for (const auto& f : write_study(made, {"PID-007", "Mori^Aya", "ACC7777", 1})) pacs.upload(f);
  const PacsSyncReport third = again.sync();
  CHECK(third.fetched == 1);
  CHECK(third.already_cached == 8);
  CHECK(again.size() == 8);

  const nlohmann::json status = again.status();
  CHECK(status["reachable"] == true);
  CHECK(status["studies_with_labels"] == 7);
  CHECK(status["studies_with_labels_not_cached"] == 0);  // ACC1006's quarantine counts as seen
  CHECK(status["cache"]["instances"] == 8);
  CHECK(status["cache"]["quarantined"] == 1);
  CHECK(status.dump().find("ACC1001") == std::string::npos);

  // The PACS goes away: sync says so after its retries, the job runs on the cache.
  pacs.stop();
  const PacsSyncReport down = again.sync();
  CHECK_THAT(down.stopped, Catch::Contains("unreachable after 2 tries"));
  CHECK(again.load(2, 16).train.count() > 0);
  const nlohmann::json down_status = again.status();
  CHECK(down_status["reachable"] == false);
  CHECK(down_status["cache"]["instances"] == 8);
  // With nothing cached, a job is refused, saying why without any identifier.
  DataSourceConfig empty = config;
  empty.pacs.cache = dir.path + "/empty-cache";
  PacsSource nothing(empty);
  CHECK_THROWS_WITH(nothing.load(2, 16),
                    Catch::Contains("PACS could not be read and no image is cached yet"));
  pacs.start();
  CHECK(again.sync().stopped.empty());
}

TEST_CASE(
    "the PACS cache resumes after a kill, stops at its size bound, and refuses a second writer",
    "[pacs][orthanc]") {
  if (!testing::OrthancServer::available()) FEDXRAY_SKIP(kNoOrthanc);
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc");
  const std::string made = made_folder(dir);
  // 400x400 16-bit: about 320 kB each
  const std::string labels = upload_studies(pacs, made, 2000, 6, 6, 1, 400);
  write_file_atomically(dir.path + "/labels.csv", labels);
  DataSourceConfig config = pacs_config(pacs, dir.path);
  config.pacs.cache_max_mb = 1;
  {
    PacsSource source(config);
    const PacsSyncReport r = source.sync();
    CHECK(r.fetched == 4);  // 4 x 320 kB reaches 1 MiB
    CHECK(r.left_out_cache_full == 2);
  }
  config.pacs.cache_max_mb = 100;
  // A killed sync: the last record half written, and an instance still in incoming/.
  const std::string journal = cache_journal(config);
  std::string text = read_file(journal);
  const std::size_t last = text.rfind('\n', text.size() - 2);
  write_file_atomically(journal, text.substr(0, last + 1) + text.substr(last + 1, 20), 0600);
  write_file_atomically(config.deid_cache + "/pacs/incoming/half.dcm", "DICM...", 0600);
  {
    PacsSource source(config);
    CHECK(fs::is_empty(config.deid_cache + "/pacs/incoming"));  // the leftover is gone
    CHECK(source.status()["cache"]["instances"] == 3);          // the torn record is dropped
    const PacsSyncReport r = source.sync();
    CHECK(r.already_cached == 3);
    CHECK(r.fetched == 3);  // the torn one and the two left out
    CHECK(source.size() == 6);
    // Each instance is recorded once after the resume: 3 + 3 whole lines.
    const std::string after = read_file(journal);
    CHECK(std::count(after.begin(), after.end(), '\n') == 6);

    // While one process syncs, another may read the status but not sync.
    const int fd = ::open((config.deid_cache + "/pacs/lock").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    PacsSource other(config);
    CHECK(other.size() == 6);
    CHECK_THROWS_WITH(other.sync(),
                      Catch::Contains("another fedxray process is syncing this PACS cache"));
    ::close(fd);
  }
}

TEST_CASE(
    "DIMSE (C-FIND, C-GET) against Orthanc gives the same images as DICOMweb, JPEG 2000 included",
    "[pacs][orthanc]") {
  if (!testing::OrthancServer::available()) FEDXRAY_SKIP(kNoOrthanc);
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc");
  const std::string made = made_folder(dir);
  if (std::system("command -v gdcmconv >/dev/null 2>&1") != 0) {
    FEDXRAY_SKIP("gdcmconv (Debian libgdcm-tools, installed by scripts/setup.sh) is missing");
  }
  const std::string labels =
      upload_studies(pacs, made, 3000, 4, 2, 2, 24, [&](int i, std::vector<std::string>& files) {
        if (i != 0) return;
        // One study stored as JPEG 2000, as archives often hold them.
        const std::string j2k = files[0] + ".j2k.dcm";
        REQUIRE(std::system(("gdcmconv --quiet --j2k '" + files[0] + "' '" + j2k + "'").c_str()) ==
                0);
        files[0] = j2k;
      });
  write_file_atomically(dir.path + "/labels.csv", labels);

  DataSourceConfig web = pacs_config(pacs, dir.path, "dicomweb");
  web.pacs.cache = dir.path + "/web-cache";
  DataSourceConfig dimse = pacs_config(pacs, dir.path, "dimse");
  dimse.pacs.cache = dir.path + "/dimse-cache";
  PacsSource from_web(web), from_dimse(dimse);
  const PacsSyncReport w = from_web.sync(), d = from_dimse.sync();
  CHECK(w.fetched == 8);
  CHECK(d.fetched == 8);
  CHECK(d.quarantined == 0);
  const ImagePool a = from_web.load_pool(2, 16), b = from_dimse.load_pool(2, 16);
  REQUIRE(a.images.count() == 8);
  REQUIRE(b.images.count() == 8);
  // Same images (order may differ): compare the sorted pixel sums.
  auto sums = [](const ImagePool& p) {
    std::vector<double> s;
    for (std::size_t i = 0; i < p.images.count(); ++i) {
      double t = 0;
      for (int k = 0; k < 16 * 16; ++k) t += p.images.pixels[i * 256 + std::size_t(k)];
      s.push_back(std::round(t * 1000));
    }
    std::sort(s.begin(), s.end());
    return s;
  };
  CHECK(sums(a) == sums(b));
  CHECK(from_dimse.sync().already_cached == 8);
  CHECK(from_dimse.status()["reachable"] == true);

  // A wrong AE title is a clear configuration error, not retried forever.
  DataSourceConfig wrong = dimse;
  wrong.pacs.called_ae = "NOT-ORTHANC";
  wrong.pacs.cache = dir.path + "/wrong-cache";
  PacsSource refused(wrong);
  CHECK_THROWS_WITH(refused.sync(),
                    Catch::Contains("rejected the association") && Catch::Contains("called_ae"));
}

TEST_CASE(
    "PACS credentials: basic authentication from a private file, refused when the file is open",
    "[pacs][orthanc]") {
  if (!testing::OrthancServer::available()) FEDXRAY_SKIP(kNoOrthanc);
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc", {{"fedxray-site", "s3cret-pacs-pw"}});
  const std::string made = made_folder(dir);
  for (const auto& f : write_study(made, {"R1", "C^D", "ACC4000", 1})) pacs.upload(f);
  write_file_atomically(dir.path + "/labels.csv", "accession_number,label\nACC4000,1\n");
  DataSourceConfig config = pacs_config(pacs, dir.path);
  config.pacs.username = "fedxray-site";
  config.pacs.password_file = dir.path + "/pacs-password";
  config.pacs.allow_credentials_over_http = true;  // Debian's Orthanc cannot serve HTTPS here

  write_file_atomically(config.pacs.password_file, "s3cret-pacs-pw\n", 0644);
  CHECK_THROWS_WITH(PacsSource(config),
                    Catch::Contains("pacs-password") && Catch::Contains("chmod 600"));
  write_file_atomically(config.pacs.password_file, "wrong\n", 0600);
  CHECK_THROWS_WITH(PacsSource(config).sync(),
                    Catch::Contains("refused the credentials") && Catch::Contains("password_file"));
  write_file_atomically(config.pacs.password_file, "s3cret-pacs-pw\n", 0600);
  PacsSource source(config);
  CHECK(source.sync().fetched == 1);

  DataSourceConfig anonymous = pacs_config(pacs, dir.path);
  anonymous.pacs.cache = dir.path + "/anonymous-cache";
  CHECK_THROWS_WITH(PacsSource(anonymous).sync(), Catch::Contains("HTTP 401"));
}

TEST_CASE(
    "DICOMweb over HTTPS: the PACS is verified against the hospital CA, and a client "
    "certificate is presented when the PACS requires one",
    "[pacs]") {
  // Debian's Orthanc 1.10 crashes on HTTPS connections, so a TLS server (cpp-httplib, OpenSSL)
  // answers the study query here; what is tested is the agent's TLS client. The test
  // consortium's coordinator certificate (127.0.0.1) stands in for the PACS's, its CA for the
  // hospital's, and the server requires client certificates from that CA.
  testing::TempDir dir;
  const TlsFiles server = testing::kit("coordinator"), client = testing::kit("site-a");
  httplib::SSLServer pacs(server.certificate.c_str(), server.private_key.c_str(),
                          server.ca_certificate.c_str());
  pacs.Get("/dicom-web/studies", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("[]", "application/dicom+json");
  });
  const int port = pacs.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { pacs.listen_after_bind(); });
  DataSourceConfig config = stub_pacs_config(dir, "https://127.0.0.1:" + std::to_string(port));
  config.pacs.ca_certificate = server.ca_certificate;
  config.pacs.client_certificate = client.certificate;
  config.pacs.client_key = client.private_key;
  const PacsSyncReport trusted = PacsSource(config).sync();
  CHECK(trusted.stopped.empty());
  CHECK(trusted.studies_found == 0);

  // Without the hospital's CA the PACS's certificate is not trusted: a TLS error, not a retry.
  DataSourceConfig untrusted = config;
  untrusted.pacs.ca_certificate = testing::kit("site-a", true).ca_certificate;  // another CA
  CHECK_THROWS_WITH(PacsSource(untrusted).sync(),
                    Catch::Contains("TLS failed") && Catch::Contains("ca_certificate"));
  // Without a client certificate the handshake fails: nothing fetched, no crash.
  DataSourceConfig anonymous = config;
  anonymous.pacs.client_certificate.clear();
  anonymous.pacs.client_key.clear();
  const PacsSyncReport refused = PacsSource(anonymous).sync();
  CHECK_FALSE(refused.stopped.empty());
  pacs.stop();
  serving.join();
}

TEST_CASE(
    "only studies in the date range, and series of the modality and body part, are fetched, "
    "over DICOMweb and over DIMSE",
    "[pacs][orthanc]") {
  if (!testing::OrthancServer::available()) FEDXRAY_SKIP(kNoOrthanc);
  testing::TempDir dir;
  testing::OrthancServer pacs(dir.path + "/orthanc");
  const std::string made = made_folder(dir);
  Study old_study{"F1", "A^B", "ACC8001"}, dx{"F2", "A^B", "ACC8002"}, hand{"F3", "A^B", "ACC8003"},
      wanted{"F4", "A^B", "ACC8004", 2};
  old_study.study_date = "20230510";
  dx.modality = "DX";
  hand.body_part = "HAND";
  wanted.study_date = "20240620";
  for (const Study& s : {old_study, dx, hand, wanted}) {
    for (const auto& f : write_study(made, s)) pacs.upload(f);
  }
  write_file_atomically(dir.path + "/labels.csv",
                        "accession_number,label\nACC8001,0\nACC8002,1\nACC8003,0\nACC8004,1\n");
  for (const char* protocol : {"dicomweb", "dimse"}) {
    INFO(protocol);
    DataSourceConfig config = pacs_config(pacs, dir.path, protocol);
    config.pacs.cache = dir.path + "/cache-" + protocol;
    config.pacs.study_date = "20240101-";
    config.pacs.modality = "CR";
    config.pacs.body_part = "CHEST";
    const PacsSyncReport r = PacsSource(config).sync();
    CHECK(r.studies_found == 2);  // the 2023 study and the DX-only study are not matched
    CHECK(r.studies_wanted == 2);
    CHECK(r.instances_found == 2);  // the HAND series is not
    CHECK(r.fetched == 2);
    const std::string journal = read_file(config.pacs.cache + "/instances.jsonl");
    CHECK(journal.find("ACC8004") != std::string::npos);
    CHECK(journal.find("ACC8003") == std::string::npos);
  }
}

TEST_CASE(
    "a bearer token from a private file is sent as Authorization, and a refused one is a "
    "clear error",
    "[pacs]") {
  testing::TempDir dir;
  httplib::Server pacs;  // answers the study query only with the right token
  pacs.Get("/dicom-web/studies", [](const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Authorization") != "Bearer tok-7f3a") {
      res.status = 401;
      return;
    }
    res.set_content("[]", "application/dicom+json");
  });
  const int port = pacs.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { pacs.listen_after_bind(); });
  DataSourceConfig config = stub_pacs_config(dir, "http://127.0.0.1:" + std::to_string(port));
  config.pacs.bearer_token_file = dir.path + "/token";
  config.pacs.allow_credentials_over_http = true;  // a loopback stand-in server
  write_file_atomically(config.pacs.bearer_token_file, "  tok-7f3a\n", 0600);
  CHECK(PacsSource(config).sync().stopped.empty());
  write_file_atomically(config.pacs.bearer_token_file, "tok-expired\n", 0600);
  CHECK_THROWS_WITH(PacsSource(config).sync(), Catch::Contains("refused the credentials") &&
                                                   Catch::Contains("bearer_token_file"));
  DataSourceConfig in_clear = config;
  in_clear.pacs.allow_credentials_over_http = false;
  CHECK_THROWS_WITH(PacsSource(in_clear),
                    Catch::Contains("in clear") && Catch::Contains("https://"));
  write_file_atomically(config.pacs.bearer_token_file, "tok-7f3a\n", 0640);
  CHECK_THROWS_WITH(PacsSource(config), Catch::Contains("token") && Catch::Contains("600"));
  pacs.stop();
  serving.join();
}

TEST_CASE(
    "DIMSE over DICOM TLS: C-FIND and C-GET with certificates both ways, and a PACS "
    "certificate from another CA refused",
    "[pacs][orthanc]") {
  if (!testing::OrthancServer::available()) FEDXRAY_SKIP(kNoOrthanc);
  testing::TempDir dir;
  // The test consortium's coordinator certificate stands in for the PACS's, its CA for the
  // hospital's; Orthanc requires the agent's certificate from that CA.
  const TlsFiles server = testing::kit("coordinator"), client = testing::kit("site-a");
  testing::OrthancServer pacs(dir.path + "/orthanc", {}, "FEDXRAY",
                              {server.certificate, server.private_key, server.ca_certificate});
  for (const auto& f : write_study(made_folder(dir), {"S1", "G^H", "ACC9000", 2})) pacs.upload(f);
  write_file_atomically(dir.path + "/labels.csv", "accession_number,label\nACC9000,1\n");
  DataSourceConfig config = pacs_config(pacs, dir.path, "dimse");
  config.pacs.tls = true;
  config.pacs.ca_certificate = server.ca_certificate;
  config.pacs.client_certificate = client.certificate;
  config.pacs.client_key = client.private_key;
  const PacsSyncReport r = PacsSource(config).sync();
  CHECK(r.stopped.empty());
  CHECK(r.fetched == 2);

  DataSourceConfig plain = config;  // the PACS speaks TLS only
  plain.pacs.tls = false;
  plain.pacs.cache = dir.path + "/plain-cache";
  CHECK_FALSE(PacsSource(plain).sync().stopped.empty());
  DataSourceConfig untrusted = config;  // the PACS's certificate is not from this CA
  untrusted.pacs.ca_certificate = testing::kit("site-a", true).ca_certificate;
  untrusted.pacs.cache = dir.path + "/untrusted-cache";
  const PacsSyncReport refused = PacsSource(untrusted).sync();
  CHECK(refused.fetched == 0);
  CHECK_THAT(refused.stopped, Catch::Contains("check data.pacs.ca_certificate"));
}

TEST_CASE(
    "a hostile PACS: a failing instance is skipped and retried later, invalid UIDs are "
    "skipped, and a PACS that ignores the offset does not loop",
    "[pacs]") {
  testing::TempDir dir;
  const std::string made = made_folder(dir);
  struct Held {
    std::string study, series, sop, file;
  };
  std::vector<Held> held;
  for (const char* acc : {"ACC6000", "ACC6001"}) {
    const std::string file = write_study(made, {"H", "X^Y", acc, 1}).front();
    DcmFileFormat f;
    REQUIRE(f.loadFile(file.c_str()).good());
    OFString study, series, sop;
    f.getDataset()->findAndGetOFString(DCM_StudyInstanceUID, study);
    f.getDataset()->findAndGetOFString(DCM_SeriesInstanceUID, series);
    f.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, sop);
    held.push_back({study.c_str(), series.c_str(), sop.c_str(), file});
  }
  auto value = [](const std::string& v) { return nlohmann::json{{"vr", "UI"}, {"Value", {v}}}; };
  httplib::Server pacs;  // every listing ignores limit and offset
  pacs.Get("/dicom-web/studies", [&](const httplib::Request&, httplib::Response& res) {
    nlohmann::json studies = nlohmann::json::array();
    studies.push_back({{"0020000D", value("1..2")}});  // invalid: skipped
    for (std::size_t i = 0; i < held.size(); ++i) {
      studies.push_back({{"0020000D", value(held[i].study)},
                         {"00080050", {{"vr", "SH"}, {"Value", {"ACC600" + std::to_string(i)}}}}});
    }
    res.set_content(studies.dump(), "application/dicom+json");
  });
  pacs.Get(R"(/dicom-web/studies/([0-9.]+)/series)",
           [&](const httplib::Request& req, httplib::Response& res) {
             for (const Held& h : held) {
               if (h.study == req.matches[1]) {
                 res.set_content(nlohmann::json::array({{{"0020000E", value(h.series)}}}).dump(),
                                 "application/dicom+json");
               }
             }
           });
  pacs.Get(R"(/dicom-web/studies/([0-9.]+)/series/([0-9.]+)/instances)",
           [&](const httplib::Request& req, httplib::Response& res) {
             for (const Held& h : held) {
               if (h.series == req.matches[2]) {
                 res.set_content(nlohmann::json::array({{{"00080018", value(h.sop)}}}).dump(),
                                 "application/dicom+json");
               }
             }
           });
  pacs.Get(R"(/dicom-web/studies/([0-9.]+)/series/([0-9.]+)/instances/([0-9.]+))",
           [&](const httplib::Request& req, httplib::Response& res) {
             if (req.matches[3] == held[0].sop) {
               res.status = 500;  // this one instance always fails
               return;
             }
             const std::string body = "--B\r\nContent-Type: application/dicom\r\n\r\n" +
                                      read_file(held[1].file) + "\r\n--B--\r\n";
             res.set_content(body, "multipart/related; type=\"application/dicom\"; boundary=B");
           });
  const int port = pacs.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { pacs.listen_after_bind(); });
  DataSourceConfig config = stub_pacs_config(dir, "http://127.0.0.1:" + std::to_string(port));
  write_file_atomically(config.pacs.labels, "accession_number,label\nACC6000,0\nACC6001,1\n");
  config.pacs.retry_seconds = 0.01;
  PacsSource source(config);
  const PacsSyncReport first = source.sync();
  CHECK(first.stopped.empty());  // one failing instance does not stop the sync
  CHECK(first.studies_found == 2);
  CHECK(first.fetched == 1);
  CHECK(first.failed == 1);
  const PacsSyncReport second = source.sync();
  CHECK(second.already_cached == 1);
  CHECK(second.failed == 1);  // tried again
  CHECK(source.load(2, 16).train.count() + source.load(2, 16).held_out.count() == 1);
  pacs.stop();
  serving.join();
}

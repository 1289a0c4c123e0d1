#include "tests/orthanc_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "tests/test_support.h"

namespace fedxray::testing {
namespace fs = std::filesystem;

namespace {
const char* kOrthanc = "/usr/sbin/Orthanc";
const char* kDicomWebPlugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so";
}  // namespace

bool OrthancServer::available() {
  return fs::exists(kOrthanc) && fs::exists(kDicomWebPlugin);
}

OrthancServer::OrthancServer(const std::string& folder,
                             const std::map<std::string, std::string>& users,
                             const std::string& client_ae, const OrthancDicomTls& dicom_tls)
    : folder_(folder), users_(users) {
  fs::create_directories(folder_ + "/storage");
  http_port_ = free_loopback_port();
  do {
    dicom_port_ = free_loopback_port();
  } while (dicom_port_ == http_port_);
  nlohmann::json config = {
      {"Name", "fedxray-test-pacs"},
      {"StorageDirectory", folder_ + "/storage"},
      {"IndexDirectory", folder_ + "/storage"},
      {"Plugins", {kDicomWebPlugin}},
      {"HttpServerEnabled", true},
      {"HttpPort", http_port_},
      {"RemoteAccessAllowed", false},  // loopback only
      {"AuthenticationEnabled", !users_.empty()},
      {"RegisteredUsers", users_},
      {"DicomServerEnabled", true},
      {"DicomAet", ae_title_},
      {"DicomPort", dicom_port_},
      {"DicomCheckCalledAet", true},
      {"DicomAlwaysAllowEcho", true},
      {"DicomAlwaysAllowFind", true},
      {"DicomAlwaysAllowGet", true},
      {"DicomModalities", {{"fedxray", {client_ae, "127.0.0.1", 11112}}}},
      {"DicomWeb", {{"Enable", true}, {"Root", "/dicom-web/"}}},
      {"HttpCompressionEnabled", false},
  };
  if (!dicom_tls.certificate.empty()) {
    config["DicomTlsEnabled"] = true;
    config["DicomTlsCertificate"] = dicom_tls.certificate;
    config["DicomTlsPrivateKey"] = dicom_tls.private_key;
    config["DicomTlsTrustedCertificates"] = dicom_tls.trusted_ca;
    config["DicomTlsRemoteCertificateRequired"] = true;
  }
  config_ = folder_ + "/orthanc.json";
  write_file_atomically(config_, config.dump(2));
  start();
}

OrthancServer::~OrthancServer() {
  stop();
}

std::string OrthancServer::dicomweb_url() const {
  return "http://127.0.0.1:" + std::to_string(http_port_) + "/dicom-web";
}

httplib::Client OrthancServer::rest_client() const {
  httplib::Client client("127.0.0.1", http_port_);
  if (!users_.empty()) client.set_basic_auth(users_.begin()->first, users_.begin()->second);
  return client;
}

void OrthancServer::start() {
  if (pid_ > 0) return;
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const std::string log = folder_ + "/orthanc.log";
    std::FILE* out = std::freopen(log.c_str(), "a", stdout);
    if (out) ::dup2(::fileno(stdout), 2);
    // Orthanc's DICOM server is DCMTK's: without this its small DIMSE replies wait for delayed
    // ACKs (Nagle), about 40 ms each.
    ::setenv("TCP_NODELAY", "1", 1);
    ::execl(kOrthanc, kOrthanc, config_.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  httplib::Client client = rest_client();
  client.set_connection_timeout(1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = client.Get("/system");
    if (r && r->status == 200) return;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      const std::string log = read_file(folder_ + "/orthanc.log");
      throw std::runtime_error("Orthanc exited at start; the end of its log:\n" +
                               log.substr(log.size() > 800 ? log.size() - 800 : 0));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  stop();
  throw std::runtime_error("Orthanc did not answer within 60 s; see " + folder_ + "/orthanc.log");
}

void OrthancServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void OrthancServer::upload(const std::string& dicom_file) {
  httplib::Client client = rest_client();
  auto r = client.Post("/instances", read_file(dicom_file), "application/dicom");
  if (!r || r->status != 200) {
    throw std::runtime_error("Orthanc did not store " + dicom_file + " (HTTP " +
                             (r ? std::to_string(r->status) : httplib::to_string(r.error())) + ")");
  }
}

}  // namespace fedxray::testing

// A real PACS for the tests: Debian's Orthanc with its DICOMweb plugin, started on free loopback
// ports with a generated configuration and its storage in a folder of the test's, stopped (and
// restartable on the same storage, to play a PACS that goes away and comes back).
#pragma once

#include <map>
#include <string>

namespace httplib {
class Client;
}

namespace fedxray::testing {

// DICOM TLS on Orthanc's DICOM port: its certificate and key, and the CA whose client
// certificates it requires.
struct OrthancDicomTls {
  std::string certificate;
  std::string private_key;
  std::string trusted_ca;
};

class OrthancServer {
 public:
  // True when /usr/sbin/Orthanc and the DICOMweb plugin are installed (scripts/setup.sh does).
  static bool available();

  // Starts Orthanc; `users` (name -> password) turns on HTTP basic authentication. Accepts
  // C-FIND and C-GET from AE title `client_ae`; `dicom_tls` puts its DICOM port behind TLS. Throws
  // std::runtime_error when it does not start.
  explicit OrthancServer(const std::string& folder,
                         const std::map<std::string, std::string>& users = {},
                         const std::string& client_ae = "FEDXRAY",
                         const OrthancDicomTls& dicom_tls = {});
  ~OrthancServer();
  OrthancServer(const OrthancServer&) = delete;
  OrthancServer& operator=(const OrthancServer&) = delete;

  // http://127.0.0.1:<port>/dicom-web. (Debian's Orthanc 1.10 crashes on HTTPS connections,
  // so the HTTPS client is tested against another TLS server: tests/pacs_test.cc.)
  std::string dicomweb_url() const;
  int http_port() const { return http_port_; }
  int dicom_port() const { return dicom_port_; }
  const std::string& ae_title() const { return ae_title_; }

  // Stores a DICOM file (REST POST /instances); throws unless Orthanc accepted it.
  void upload(const std::string& dicom_file);
  void stop();
  void start();

 private:
  std::string folder_;
  std::string config_;
  std::map<std::string, std::string> users_;
  std::string ae_title_ = "ORTHANC";
  int http_port_ = 0;
  int dicom_port_ = 0;
  int pid_ = -1;
  httplib::Client rest_client() const;
};

}  // namespace fedxray::testing

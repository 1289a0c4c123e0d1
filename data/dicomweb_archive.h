// DicomWebArchive: a PACS reached over DICOMweb (DICOM PS3.18): QIDO-RS to find studies, series
// and instances, WADO-RS to retrieve instances (multipart/related; type="application/dicom").
//
// HTTPS verifies the PACS against `ca_certificate` (the system store when empty) and can present
// a client certificate; basic or bearer credentials are read from files that must be private to
// the agent's user (mode 0600 or 0400, not a link: base/private_file.h), refused otherwise. The
// contract is PacsArchive's (data/pacs_archive.h). One instance is at most 1 GiB and one query
// reply at most 64 MiB; QIDO results are paged (limit/offset).
#pragma once

#include <memory>
#include <string>

#include "config/site_config.h"
#include "data/pacs_archive.h"

namespace httplib {
class Client;
}

namespace fedxray {

class DicomWebArchive : public PacsArchive {
 public:
  explicit DicomWebArchive(const PacsConfig& config);
  ~DicomWebArchive() override;

  std::string describe() const override { return "DICOMweb " + url_; }
  void ping() override;
  std::vector<PacsStudy> find_studies(const PacsQuery& query) override;
  std::vector<PacsInstance> find_instances(const PacsStudy& study, const PacsQuery& query) override;
  void retrieve(const PacsInstance& instance, const std::string& path) override;

 private:
  // GET base_path_ + target; returns the body, throws as the contract says.
  std::string get(const std::string& target, const std::string& accept, std::size_t max_bytes,
                  std::string* content_type = nullptr);
  std::string url_;
  std::string base_path_;  // the service root's path, without a trailing '/'
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace fedxray

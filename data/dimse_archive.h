// DimseArchive: a PACS reached over classic DICOM networking (PS3.4/PS3.7) with DCMTK's dcmnet:
// C-FIND (Study Root) at study, series and image level to find instances, C-GET to retrieve
// each one over the same association (the agent acts as the storage SCP for the C-GET
// sub-operations, so no inbound port or C-MOVE destination is needed: it works behind the
// hospital firewall like the DICOMweb source). One association is kept open and renewed when
// the PACS drops it. The contract is PacsArchive's (data/pacs_archive.h).
//
// Not yet: DICOM TLS (PS3.15 Annex B) and C-MOVE; the association is plain TCP, so use it on the
// hospital's own network only.
#pragma once

#include <memory>
#include <string>

#include "config/site_config.h"
#include "data/pacs_archive.h"

class DcmSCU;
class DcmDataset;

namespace fedxray {

class DimseArchive : public PacsArchive {
 public:
  explicit DimseArchive(const PacsConfig& config);
  ~DimseArchive() override;

  std::string describe() const override;
  void ping() override;
  std::vector<PacsStudy> find_studies(const PacsQuery& query) override;
  std::vector<PacsInstance> find_instances(const PacsStudy& study, const PacsQuery& query) override;
  void retrieve(const PacsInstance& instance, const std::string& path) override;

 private:
  DcmSCU& connected();
  void drop();
  // C-FIND with `keys` (Study Root); every matching data set.
  std::vector<std::unique_ptr<DcmDataset>> find(DcmDataset& keys, const std::string& what);
  PacsConfig config_;
  std::unique_ptr<DcmSCU> scu_;
};

}  // namespace fedxray

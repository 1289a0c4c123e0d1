// DimseArchive: a PACS reached over classic DICOM networking (PS3.4/PS3.7) with DCMTK's dcmnet:
// C-FIND (Study Root) at study, series and image level to find instances, C-GET to retrieve
// each one over the same association (the agent acts as the storage SCP for the C-GET
// sub-operations, so no inbound port or C-MOVE destination is needed: it works behind the
// hospital firewall like the DICOMweb source). One association is kept open and renewed when
// the PACS drops it. The contract is PacsArchive's (data/pacs_archive.h).
//
// With `tls`, the association runs over DICOM TLS (PS3.15 Annex B, DCMTK's dcmtls with the
// BCP 195 profile): the PACS's certificate must chain to `ca_certificate`, and the agent presents
// `client_certificate`. Without it the association is plain TCP: use that inside the hospital
// network only. C-MOVE is not offered (C-GET needs no inbound port).
#pragma once

#include <memory>
#include <string>

#include "config/site_config.h"
#include "data/pacs_archive.h"

class DcmSCU;
class DcmDataset;
class DcmTLSTransportLayer;

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
  std::unique_ptr<DcmTLSTransportLayer> tls_;  // outlives scu_, which uses it
  std::unique_ptr<DcmSCU> scu_;
};

}  // namespace fedxray

#include "data/dimse_archive.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmnet/scu.h>
#include <dcmtk/dcmtls/tlslayer.h>
#include <dcmtk/oflog/oflog.h>

namespace fedxray {
namespace fs = std::filesystem;
namespace {

// The storage classes a radiograph comes in; the agent accepts them as the C-GET's storage SCP.
const char* const kStorageClasses[] = {
    UID_ComputedRadiographyImageStorage,
    UID_DigitalXRayImageStorageForPresentation,
    UID_DigitalXRayImageStorageForProcessing,
    UID_DigitalMammographyXRayImageStorageForPresentation,
    UID_DigitalIntraOralXRayImageStorageForPresentation,
    UID_SecondaryCaptureImageStorage,
    UID_MultiframeGrayscaleByteSecondaryCaptureImageStorage,
    UID_MultiframeGrayscaleWordSecondaryCaptureImageStorage,
};

// Offered for storage, so the PACS can send what it holds without transcoding.
const char* const kStorageSyntaxes[] = {
    UID_LittleEndianExplicitTransferSyntax, UID_LittleEndianImplicitTransferSyntax,
    UID_JPEGProcess1TransferSyntax,         UID_JPEGProcess2_4TransferSyntax,
    UID_JPEGProcess14SV1TransferSyntax,     UID_JPEGProcess14TransferSyntax,
    UID_JPEGLSLosslessTransferSyntax,       UID_JPEGLSLossyTransferSyntax,
    UID_JPEG2000LosslessOnlyTransferSyntax, UID_JPEG2000TransferSyntax,
    UID_RLELosslessTransferSyntax,
};

// DcmSCU with its transport layer settable from outside (DCMTK keeps it protected for DcmTLSSCU,
// whose own certificate handling this class does not need).
class SecurableScu : public DcmSCU {
 public:
  using DcmSCU::useSecureConnection;
};

std::string text(DcmDataset& d, const DcmTagKey& key) {
  OFString value;
  d.findAndGetOFString(key, value);
  return value.c_str();
}

}  // namespace

DimseArchive::DimseArchive(const PacsConfig& config) : config_(config) {
  static std::once_flag quiet;
  if (config_.tls) {
    tls_ = std::make_unique<DcmTLSTransportLayer>(NET_REQUESTOR, nullptr, OFTrue);
    auto fail = [&](const std::string& what, const OFCondition& c) {
      throw ConfigError("data.pacs: DICOM TLS: " + what + " (" + std::string(c.text()) + ")");
    };
    OFCondition c = tls_->setTLSProfile(TSP_Profile_BCP195);
    if (c.good()) c = tls_->activateCipherSuites();
    if (c.bad()) fail("cannot set up the BCP 195 profile", c);
    c = tls_->addTrustedCertificateFile(config_.ca_certificate.c_str(), DCF_Filetype_PEM);
    if (c.bad()) fail("cannot read ca_certificate " + config_.ca_certificate, c);
    c = tls_->setPrivateKeyFile(config_.client_key.c_str(), DCF_Filetype_PEM);
    if (c.bad()) fail("cannot read client_key " + config_.client_key, c);
    c = tls_->setCertificateFile(config_.client_certificate.c_str(), DCF_Filetype_PEM);
    if (c.bad()) fail("cannot use client_certificate " + config_.client_certificate, c);
    if (!tls_->checkPrivateKeyMatchesCertificate()) {
      throw ConfigError("data.pacs: client_key does not belong to client_certificate");
    }
    tls_->setCertificateVerification(DCV_requireCertificate);
  }
  std::call_once(quiet, [] {
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    // DCMTK leaves Nagle's algorithm on unless TCP_NODELAY is set; with it each small DIMSE
    // message waits for the peer's delayed ACK (about 40 ms a C-FIND or C-GET: 2.2 s instead of
    // 0.03 s for 8 instances on loopback). An operator's own setting is kept.
    ::setenv("TCP_NODELAY", "1", 0);
  });
}

DimseArchive::~DimseArchive() {
  drop();
}

std::string DimseArchive::describe() const {
  return std::string(config_.tls ? "DIMSE over TLS " : "DIMSE ") + config_.called_ae + "@" +
         config_.host + ":" + std::to_string(config_.port);
}

void DimseArchive::drop() {
  if (scu_ && scu_->isConnected()) scu_->releaseAssociation();
  scu_.reset();
}

DcmSCU& DimseArchive::connected() {
  if (scu_ && scu_->isConnected()) return *scu_;
  auto securable = std::make_unique<SecurableScu>();
  SecurableScu& scu = *securable;
  scu_ = std::move(securable);
  scu.setAETitle(config_.calling_ae.c_str());
  scu.setPeerHostName(config_.host.c_str());
  scu.setPeerPort(Uint16(config_.port));
  scu.setPeerAETitle(config_.called_ae.c_str());
  const auto seconds = Uint32(config_.timeout_seconds);
  scu.setConnectionTimeout(Sint32(std::min<Uint32>(seconds, 10)));
  scu.setACSETimeout(seconds);
  scu.setDIMSETimeout(seconds);
  scu.setDIMSEBlockingMode(DIMSE_NONBLOCKING);
  OFList<OFString> plain;
  plain.push_back(UID_LittleEndianExplicitTransferSyntax);
  plain.push_back(UID_LittleEndianImplicitTransferSyntax);
  scu.addPresentationContext(UID_VerificationSOPClass, plain);
  scu.addPresentationContext(UID_FINDStudyRootQueryRetrieveInformationModel, plain);
  scu.addPresentationContext(UID_GETStudyRootQueryRetrieveInformationModel, plain);
  // One presentation context per class and transfer syntax: the PACS accepts one syntax per
  // context, and then sends each instance in a syntax it holds it in, with no transcoding.
  for (const char* c : kStorageClasses) {
    for (const char* s : kStorageSyntaxes) {
      OFList<OFString> one;
      one.push_back(s);
      scu.addPresentationContext(c, one, ASC_SC_ROLE_SCP);
    }
  }
  OFCondition status = scu.initNetwork();
  // The transport layer attaches to the network initNetwork() made.
  if (status.good() && tls_) status = scu.useSecureConnection(tls_.get());
  if (status.good()) status = scu.negotiateAssociation();
  if (status.bad()) {
    const std::string why = status.text();
    scu_.reset();
    // A refused association (wrong AE title) is a configuration error; anything else (no
    // listener, timeout) may pass.
    if (why.find("Rejected") != std::string::npos || why.find("rejected") != std::string::npos) {
      throw Error(describe() + ": the PACS rejected the association (" + why +
                  "); check data.pacs.called_ae / calling_ae and that the PACS knows this AE");
    }
    throw PacsUnavailable(describe() + ": cannot open an association (" + why + ")" +
                          (tls_ ? "; with DICOM TLS, check data.pacs.ca_certificate and that the "
                                  "PACS trusts client_certificate"
                                : ""));
  }
  return scu;
}

void DimseArchive::ping() {
  DcmSCU& scu = connected();
  const OFCondition status = scu.sendECHORequest(0);
  if (status.bad()) {
    drop();
    throw PacsUnavailable(describe() + ": C-ECHO failed (" + std::string(status.text()) + ")");
  }
}

std::vector<std::unique_ptr<DcmDataset>> DimseArchive::find(DcmDataset& keys,
                                                            const std::string& what) {
  DcmSCU& scu = connected();
  const T_ASC_PresentationContextID id =
      scu.findPresentationContextID(UID_FINDStudyRootQueryRetrieveInformationModel, "");
  if (id == 0) {
    drop();
    throw Error(describe() + ": the PACS does not accept Study Root C-FIND");
  }
  OFList<QRResponse*> responses;
  const OFCondition status = scu.sendFINDRequest(id, &keys, &responses);
  std::vector<std::unique_ptr<DcmDataset>> found;
  Uint16 final_status = 0;
  for (QRResponse* r : responses) {
    if (r->m_dataset) {
      found.emplace_back(r->m_dataset);
      r->m_dataset = nullptr;
    }
    final_status = r->m_status;
    delete r;
  }
  if (status.bad()) {
    drop();
    throw PacsUnavailable(describe() + ": C-FIND for " + what + " failed (" +
                          std::string(status.text()) + ")");
  }
  if (final_status != STATUS_Success) {
    char hex[8];
    std::snprintf(hex, sizeof(hex), "%04X", unsigned(final_status));
    throw Error(describe() + ": C-FIND for " + what + " ended with status " + hex);
  }
  return found;
}

std::vector<PacsStudy> DimseArchive::find_studies(const PacsQuery& query) {
  DcmDataset keys;
  keys.putAndInsertString(DCM_QueryRetrieveLevel, "STUDY");
  keys.putAndInsertString(DCM_StudyInstanceUID, "");
  keys.putAndInsertString(DCM_AccessionNumber, "");
  keys.putAndInsertString(DCM_PatientID, "");
  keys.putAndInsertString(DCM_StudyDate, query.study_date.c_str());
  if (!query.modality.empty())
    keys.putAndInsertString(DCM_ModalitiesInStudy, query.modality.c_str());
  std::vector<PacsStudy> studies;
  for (auto& d : find(keys, "studies")) {
    studies.push_back({checked_pacs_uid(text(*d, DCM_StudyInstanceUID), "Study Instance UID"),
                       text(*d, DCM_AccessionNumber), text(*d, DCM_PatientID)});
  }
  return studies;
}

std::vector<PacsInstance> DimseArchive::find_instances(const PacsStudy& study,
                                                       const PacsQuery& query) {
  DcmDataset series_keys;
  series_keys.putAndInsertString(DCM_QueryRetrieveLevel, "SERIES");
  series_keys.putAndInsertString(DCM_StudyInstanceUID, study.study_uid.c_str());
  series_keys.putAndInsertString(DCM_SeriesInstanceUID, "");
  series_keys.putAndInsertString(DCM_Modality, query.modality.c_str());
  series_keys.putAndInsertString(DCM_BodyPartExamined, query.body_part.c_str());
  std::vector<PacsInstance> instances;
  for (auto& series : find(series_keys, "the series of a study")) {
    const std::string series_uid =
        checked_pacs_uid(text(*series, DCM_SeriesInstanceUID), "Series Instance UID");
    DcmDataset image_keys;
    image_keys.putAndInsertString(DCM_QueryRetrieveLevel, "IMAGE");
    image_keys.putAndInsertString(DCM_StudyInstanceUID, study.study_uid.c_str());
    image_keys.putAndInsertString(DCM_SeriesInstanceUID, series_uid.c_str());
    image_keys.putAndInsertString(DCM_SOPInstanceUID, "");
    for (auto& image : find(image_keys, "the instances of a series")) {
      instances.push_back({study, series_uid,
                           checked_pacs_uid(text(*image, DCM_SOPInstanceUID), "SOP Instance UID")});
    }
  }
  return instances;
}

void DimseArchive::retrieve(const PacsInstance& instance, const std::string& path) {
  // The sub-operation's C-STORE lands in a folder of its own, named by DCMTK
  // (<modality>.<SOP Instance UID>); it is then moved to `path`.
  const fs::path landing = fs::path(path).parent_path() / (".c-get-" + instance.sop_uid);
  fs::remove_all(landing);
  fs::create_directories(landing);
  fs::permissions(landing, fs::perms::owner_all);
  DcmSCU& scu = connected();
  scu.setStorageMode(DCMSCU_STORAGE_DISK);
  scu.setStorageDir(landing.c_str());
  const T_ASC_PresentationContextID id =
      scu.findPresentationContextID(UID_GETStudyRootQueryRetrieveInformationModel, "");
  if (id == 0) {
    drop();
    fs::remove_all(landing);
    throw Error(describe() + ": the PACS does not accept Study Root C-GET");
  }
  DcmDataset keys;
  keys.putAndInsertString(DCM_QueryRetrieveLevel, "IMAGE");
  keys.putAndInsertString(DCM_StudyInstanceUID, instance.study.study_uid.c_str());
  keys.putAndInsertString(DCM_SeriesInstanceUID, instance.series_uid.c_str());
  keys.putAndInsertString(DCM_SOPInstanceUID, instance.sop_uid.c_str());
  OFList<RetrieveResponse*> responses;
  const OFCondition status = scu.sendCGETRequest(id, &keys, &responses);
  Uint16 failed = 0;
  for (RetrieveResponse* r : responses) {
    failed = std::max(failed, r->m_numberOfFailedSubops);
    delete r;
  }
  // DCMTK names what arrives <modality>.<SOP Instance UID>: only the instance asked for is
  // taken (another one would get this study's label).
  std::string received;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(landing, ec)) {
    const std::string name = entry.path().filename().string();
    const std::string tail = "." + instance.sop_uid;
    if (entry.is_regular_file() && name.size() > tail.size() &&
        name.compare(name.size() - tail.size(), tail.size(), tail) == 0) {
      received = entry.path().string();
    }
  }
  if (status.bad() || received.empty()) {
    fs::remove_all(landing);
    if (status.bad()) {
      drop();
      throw PacsUnavailable(describe() + ": C-GET of an instance failed (" +
                            std::string(status.text()) + ")");
    }
    throw Error(describe() + ": C-GET of an instance delivered nothing (" + std::to_string(failed) +
                " failed sub-operations; the PACS may hold it in a storage class or transfer "
                "syntax the agent does not accept)");
  }
  fs::permissions(received, fs::perms::owner_read | fs::perms::owner_write);
  fs::rename(received, path);
  fs::remove_all(landing);
}

}  // namespace fedxray

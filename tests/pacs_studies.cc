#include "tests/pacs_studies.h"

#include <catch2/catch.hpp>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

namespace fedxray::testing {

std::vector<std::string> write_study(const std::string& folder, const Study& s) {
  char uid[100];
  const std::string study_uid = dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT);
  const std::string series_uid = dcmGenerateUniqueIdentifier(uid, SITE_SERIES_UID_ROOT);
  std::vector<std::string> files;
  for (int i = 0; i < s.instances; ++i) {
    DcmFileFormat file;
    DcmDataset* d = file.getDataset();
    d->putAndInsertString(DCM_SOPClassUID, UID_ComputedRadiographyImageStorage);
    d->putAndInsertString(DCM_SOPInstanceUID,
                          dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
    d->putAndInsertString(DCM_StudyInstanceUID, study_uid.c_str());
    d->putAndInsertString(DCM_SeriesInstanceUID, series_uid.c_str());
    d->putAndInsertString(DCM_PatientID, s.patient_id.c_str());
    d->putAndInsertString(DCM_PatientName, s.patient_name.c_str());
    d->putAndInsertString(DCM_AccessionNumber, s.accession.c_str());
    d->putAndInsertString(DCM_StudyDate, s.study_date.c_str());
    d->putAndInsertString(DCM_Modality, s.modality.c_str());
    d->putAndInsertString(DCM_BodyPartExamined, s.body_part.c_str());
    d->putAndInsertString(DCM_InstanceNumber, std::to_string(i + 1).c_str());
    if (s.burned_in) d->putAndInsertString(DCM_BurnedInAnnotation, "YES");
    d->putAndInsertUint16(DCM_Rows, Uint16(s.size));
    d->putAndInsertUint16(DCM_Columns, Uint16(s.size));
    d->putAndInsertUint16(DCM_SamplesPerPixel, 1);
    d->putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME2");
    d->putAndInsertUint16(DCM_BitsAllocated, 16);
    d->putAndInsertUint16(DCM_BitsStored, 12);
    d->putAndInsertUint16(DCM_HighBit, 11);
    d->putAndInsertUint16(DCM_PixelRepresentation, 0);
    std::vector<Uint16> pixels(std::size_t(s.size * s.size));
    const std::size_t seed = std::hash<std::string>()(s.accession) + std::size_t(i);
    for (std::size_t p = 0; p < pixels.size(); ++p) pixels[p] = Uint16((p * 37 + seed) % 4096);
    d->putAndInsertUint16Array(DCM_PixelData, pixels.data(), unsigned(pixels.size()));
    const std::string path = folder + "/" + s.accession + "-" + std::to_string(i) + ".dcm";
    REQUIRE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
    files.push_back(path);
  }
  return files;
}

std::string upload_studies(
    OrthancServer& pacs, const std::string& made, int first, int count, int patients, int instances,
    int size, const std::function<void(int, std::vector<std::string>&)>& before_upload) {
  std::string labels = "accession_number,label\n";
  for (int i = 0; i < count; ++i) {
    const std::string acc = "ACC" + std::to_string(first + i);
    std::vector<std::string> files =
        write_study(made, {"P" + std::to_string(i % patients), "X^Y", acc, instances, false, size});
    if (before_upload) before_upload(i, files);
    for (const auto& f : files) pacs.upload(f);
    labels += acc + "," + std::to_string(i % 2) + "\n";
  }
  return labels;
}

}  // namespace fedxray::testing

// The de-identification gate (PS3.15 Annex E Basic Profile) on the real CR files in
// ../shared/data/dicom-cr-samples and on DICOM files the tests build with DCMTK (character
// sets, private tags, overlays, nested sequences, burned-in annotation).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>

#include "common/atomic_file.h"
#include "privacy/dicom_deidentifier.h"
#include "site-agent/dicom_file.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

const std::string kDicom = FEDXRAY_SOURCE_DIR "/../shared/data/dicom-cr-samples";
const DeidOptions kOptions{"site secret for tests, 32 bytes!", false};

// TAGS.txt: "<relative path>  size=..." then "    Keyword: value" lines.
std::map<std::string, std::map<std::string, std::string>> listed_tags() {
  std::map<std::string, std::map<std::string, std::string>> out;
  std::ifstream in(kDicom + "/TAGS.txt");
  std::string line, current;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] != ' ') {
      current = line.substr(0, line.find("  "));
    } else {
      const auto colon = line.find(": ");
      if (colon == std::string::npos) continue;
      const auto start = line.find_first_not_of(' ');
      out[current][line.substr(start, colon - start)] = line.substr(colon + 2);
    }
  }
  return out;
}

std::string value_of(DcmDataset& d, const DcmTagKey& key) {
  OFString v;
  return d.findAndGetOFStringArray(key, v).good() ? std::string(v.c_str()) : "<absent>";
}

struct Loaded {
  DcmFileFormat file;
  DcmDataset& data() { return *file.getDataset(); }
  explicit Loaded(const std::string& path) { REQUIRE(file.loadFile(path.c_str()).good()); }
};

}  // namespace

TEST_CASE("de-identification of the real CR files: PS3.15 actions, pixels unchanged", "[deid]") {
  if (!fs::exists(kDicom + "/TAGS.txt")) {
    WARN("skipped: " << kDicom << " is absent (real data lives in ../shared/data)");
    return;
  }
  testing::TempDir out;
  int checked = 0;
  for (const auto& [relative, tags] : listed_tags()) {
    const std::string input = kDicom + "/" + relative;
    if (!fs::exists(input)) continue;  // TAGS.txt also lists files this copy does not hold
    INFO(relative);
    const std::string output = out.path + "/" + std::to_string(checked) + ".dcm";
    const DeidRecord r = deidentify_dicom(input, output, kOptions);
    REQUIRE_FALSE(r.refused);
    Loaded d(output);
    // Emptied (Z), removed (X) and pseudonymised (D) as the Basic Profile lists them.
    CHECK(value_of(d.data(), DCM_PatientName).empty());
    CHECK(value_of(d.data(), DCM_StudyDate).empty());
    CHECK(value_of(d.data(), DCM_StudyID).empty());
    CHECK(value_of(d.data(), DCM_AccessionNumber).empty());
    if (tags.count("PatientBirthDate")) CHECK(value_of(d.data(), DCM_PatientBirthDate).empty());
    for (const auto& key : {DCM_InstitutionName, DCM_InstitutionalDepartmentName, DCM_StationName,
                            DCM_StudyDescription, DCM_DeviceSerialNumber, DCM_RETIRED_OtherPatientIDs,
                            DCM_SourceImageSequence}) {
      CHECK(value_of(d.data(), key) == "<absent>");
    }
    const std::string pid = value_of(d.data(), DCM_PatientID);
    CHECK(pid == pseudonymous_id(kOptions.secret, tags.at("PatientID")));
    CHECK(value_of(d.data(), DCM_PatientIdentityRemoved) == "YES");
    // Nothing listed as identifying survives anywhere in the file's bytes (values of 4+ chars;
    // shorter ones like "2" or "M" occur by chance in any binary file).
    const std::string bytes = read_file(output);
    for (const auto& [keyword, value] : tags) {
      if (keyword == "Modality" || keyword == "SOPClassUID" || keyword == "PhotometricInterpretation" ||
          keyword == "SpecificCharacterSet" || keyword == "Manufacturer" || keyword == "BodyPartExamined" ||
          value.size() < 4) {
        continue;  // kept by the profile, or too short to search for
      }
      INFO(keyword);
      CHECK(bytes.find(value) == std::string::npos);
    }
    // Instance UIDs replaced, classes kept.
    Loaded original(input);
    CHECK(value_of(d.data(), DCM_SOPClassUID) == value_of(original.data(), DCM_SOPClassUID));
    CHECK(value_of(d.data(), DCM_SOPInstanceUID) ==
          pseudonymous_uid(kOptions.secret, value_of(original.data(), DCM_SOPInstanceUID)));
    CHECK(r.replaced_uids >= 3);
    // The pixels decode to exactly the same image.
    if (relative.find("_UNC") != std::string::npos || relative.find("_JPLY") != std::string::npos ||
        relative.find("pydicom-dicomdir") != std::string::npos) {
      const GrayImage a = decode_dicom(input), b = decode_dicom(output);
      CHECK(a.width == b.width);
      CHECK(a.pixels == b.pixels);
    }
    ++checked;
  }
  CHECK(checked >= 3);
}

TEST_CASE("de-identification keeps one pseudonym and one study UID for one patient's images", "[deid]") {
  const std::string dir = kDicom + "/pydicom-dicomdir-cr";
  if (!fs::exists(dir)) {
    WARN("skipped: " << dir << " is absent (real data lives in ../shared/data)");
    return;
  }
  testing::TempDir out;
  std::set<std::string> studies, instances, patients, originals;
  for (const char* name : {"77654033_CR1_6154.dcm", "77654033_CR2_6247.dcm", "77654033_CR3_6278.dcm"}) {
    const std::string output = out.path + "/" + name;
    deidentify_dicom(dir + "/" + name, output, kOptions);
    Loaded d(output), o(dir + "/" + name);
    studies.insert(value_of(d.data(), DCM_StudyInstanceUID));
    originals.insert(value_of(o.data(), DCM_StudyInstanceUID));
    instances.insert(value_of(d.data(), DCM_SOPInstanceUID));
    patients.insert(value_of(d.data(), DCM_PatientID));
  }
  CHECK(studies.size() == originals.size());  // same grouping as the originals
  CHECK(*studies.begin() != *originals.begin());
  CHECK(instances.size() == 3);
  CHECK(patients.size() == 1);
  // Another site secret gives unrelated pseudonyms.
  CHECK(pseudonymous_id("another site's secret, 32 bytes!", "77654033") != *patients.begin());
}

TEST_CASE("de-identification handles ISO 2022 Japanese names, private tags, overlays and nested items", "[deid]") {
  testing::TempDir dir;
  DcmFileFormat file;
  DcmDataset& d = *file.getDataset();
  char uid[100];
  d.putAndInsertString(DCM_SOPClassUID, UID_ComputedRadiographyImageStorage);
  d.putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  d.putAndInsertString(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT));
  d.putAndInsertString(DCM_SpecificCharacterSet, "\\ISO 2022 IR 87");
  // やまだ^たろう in JIS X 0208 with ISO 2022 escapes, as Japanese CR systems write it.
  const std::string japanese = "\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";
  d.putAndInsertString(DCM_PatientName, japanese.c_str());
  d.putAndInsertString(DCM_PatientID, "2008-4");
  d.putAndInsertString(DCM_BodyPartExamined, "CHEST");
  d.putAndInsertString(DCM_ImageComments, ("free text about " + japanese).c_str());
  d.putAndInsertString(DcmTagKey(0x0029, 0x0010), "ACME PRIVATE");      // private creator
  d.putAndInsertString(DcmTagKey(0x0029, 0x1010), "hidden-identifier");  // private data
  d.putAndInsertUint16(DcmTagKey(0x6000, 0x0010), 16);                   // overlay rows
  DcmItem* item = nullptr;
  d.findOrCreateSequenceItem(DCM_PerformedProtocolCodeSequence, item, -2);
  REQUIRE(item != nullptr);
  item->putAndInsertString(DCM_CodeMeaning, "Chest PA");
  item->putAndInsertString(DcmTagKey(0x0040, 0xA123), "Nurse^Hidden");  // Person Name, nested
  d.putAndInsertUint16(DCM_Rows, 4);
  d.putAndInsertUint16(DCM_Columns, 4);
  d.putAndInsertUint16(DCM_BitsAllocated, 16);
  d.putAndInsertUint16(DCM_BitsStored, 12);
  d.putAndInsertUint16(DCM_HighBit, 11);
  d.putAndInsertUint16(DCM_PixelRepresentation, 0);
  d.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  d.putAndInsertString(DCM_PhotometricInterpretation, "MONOCHROME1");
  Uint16 pixels[16];
  for (int i = 0; i < 16; ++i) pixels[i] = Uint16(i * 200);
  d.putAndInsertUint16Array(DCM_PixelData, pixels, 16);
  const std::string input = dir.path + "/jp.dcm", output = dir.path + "/jp-deid.dcm";
  REQUIRE(file.saveFile(input.c_str(), EXS_LittleEndianExplicit).good());

  const DeidRecord r = deidentify_dicom(input, output, kOptions);
  REQUIRE_FALSE(r.refused);
  const std::string bytes = read_file(output);
  CHECK(bytes.find("\x1b$B$d$^$@") == std::string::npos);  // the name is gone byte for byte
  CHECK(bytes.find("hidden-identifier") == std::string::npos);
  CHECK(bytes.find("Nurse^Hidden") == std::string::npos);
  CHECK(bytes.find("free text about") == std::string::npos);
  CHECK(r.private_removed >= 1);
  CHECK(bytes.find("ACME PRIVATE") == std::string::npos);  // creator and data both gone
  CHECK(r.overlays_removed == 1);
  Loaded out(output);
  CHECK(value_of(out.data(), DCM_SpecificCharacterSet) == "\\ISO 2022 IR 87");  // kept, not mangled
  CHECK(value_of(out.data(), DCM_BodyPartExamined) == "CHEST");
  CHECK(value_of(out.data(), DCM_PatientName).empty());
  DcmItem* kept = nullptr;
  REQUIRE(out.data().findAndGetSequenceItem(DCM_PerformedProtocolCodeSequence, kept, 0).good());
  OFString meaning;
  CHECK(kept->findAndGetOFString(DCM_CodeMeaning, meaning).good());
  CHECK(meaning == "Chest PA");
  const Uint16* after = nullptr;
  REQUIRE(out.data().findAndGetUint16Array(DCM_PixelData, after).good());
  CHECK(std::equal(pixels, pixels + 16, after));
  // The record names what was done, never the values.
  bool named = false;
  for (const auto& k : r.removed) named |= k == "ImageComments";
  CHECK(named);
  for (const auto& k : r.removed) CHECK(k.find("Hidden") == std::string::npos);

  SECTION("Burned In Annotation = YES is refused unless the policy allows it") {
    DcmFileFormat burned;
    REQUIRE(burned.loadFile(input.c_str()).good());
    burned.getDataset()->putAndInsertString(DCM_BurnedInAnnotation, "YES");
    const std::string path = dir.path + "/burned.dcm";
    REQUIRE(burned.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
    const DeidRecord refused = deidentify_dicom(path, dir.path + "/burned-out.dcm", kOptions);
    CHECK(refused.refused);
    CHECK_THAT(refused.reason, Catch::Contains("Burned In Annotation"));
    CHECK_FALSE(fs::exists(dir.path + "/burned-out.dcm"));
    const DeidRecord allowed = deidentify_dicom(path, dir.path + "/burned-out.dcm",
                                                DeidOptions{kOptions.secret, true});
    CHECK_FALSE(allowed.refused);
  }
}

// The de-identification gate (PS3.15 Annex E Basic Profile) on the real CR files in
// ../shared/data/dicom-cr-samples and on DICOM files the tests build with DCMTK (character
// sets, private tags, overlays, nested sequences, burned-in annotation, every attribute of PS3.15
// Table E.1-1), and the gate's cache folder and key (where they live, who may read them).
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
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

#include "base/atomic_file.h"
#include "privacy/deid/confidentiality_profile.h"
#include "privacy/deid/dicom_deidentifier.h"
#include "data/deid_gate.h"
#include "data/dicom_file.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

// A 4x4 image of 12-bit pixels 0, 200, ..., 3000 with the given photometric interpretation.
void put_tiny_image(DcmDataset& d, const char* photometric) {
  d.putAndInsertUint16(DCM_Rows, 4);
  d.putAndInsertUint16(DCM_Columns, 4);
  d.putAndInsertUint16(DCM_BitsAllocated, 16);
  d.putAndInsertUint16(DCM_BitsStored, 12);
  d.putAndInsertUint16(DCM_HighBit, 11);
  d.putAndInsertUint16(DCM_PixelRepresentation, 0);
  d.putAndInsertUint16(DCM_SamplesPerPixel, 1);
  d.putAndInsertString(DCM_PhotometricInterpretation, photometric);
  Uint16 pixels[16];
  for (int i = 0; i < 16; ++i) pixels[i] = Uint16(i * 200);
  d.putAndInsertUint16Array(DCM_PixelData, pixels, 16);
}

const std::string kDicom = fedxray::testing::shared_data_dir() + "/dicom-cr-samples";
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

// A small CR image data set, the base of the synthetic files below.
void put_image(DcmDataset& d) {
  char uid[100];
  d.putAndInsertString(DCM_SOPClassUID, UID_ComputedRadiographyImageStorage);
  d.putAndInsertString(DCM_SOPInstanceUID,
                       dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  d.putAndInsertString(DCM_StudyInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_STUDY_UID_ROOT));
  put_tiny_image(d, "MONOCHROME2");
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

// Sets (or unsets, with nullptr) an environment variable for one scope.
struct ScopedEnv {
  std::string name;
  bool had;
  std::string old;
  ScopedEnv(const char* n, const char* value) : name(n), had(std::getenv(n) != nullptr) {
    if (had) old = std::getenv(n);
    if (value) ::setenv(n, value, 1);
    else ::unsetenv(n);
  }
  ~ScopedEnv() {
    if (had) ::setenv(name.c_str(), old.c_str(), 1);
    else ::unsetenv(name.c_str());
  }
};

// A cache folder (0700) with a key (0600) in a fresh temporary folder.
struct GateFolder {
  testing::TempDir dir;
  std::string cache = dir.path + "/deid";
  std::string key = cache + "/site-secret.key";
  GateFolder() {
    REQUIRE(::mkdir(cache.c_str(), 0700) == 0);
    write_file_atomically(key, std::string(32, 'k'), 0600);
  }
  DataSourceConfig config() const {
    DataSourceConfig c;
    c.source = "image_folder";
    c.deid_cache = cache;
    return c;
  }
};

}  // namespace

TEST_CASE("de-identification of the real CR files: PS3.15 actions, pixels unchanged", "[deid]") {
  if (!fs::exists(kDicom + "/TAGS.txt")) {
    FEDXRAY_SKIP(kDicom << " is absent (real data lives in ../shared/data)");
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
    FEDXRAY_SKIP(dir << " is absent (real data lives in ../shared/data)");
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
  put_tiny_image(d, "MONOCHROME1");
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
  for (int i = 0; i < 16; ++i) CHECK(after[i] == Uint16(i * 200));  // put_tiny_image's pixels
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

TEST_CASE("the allow-list keeps as is no attribute that PS3.15 Table E.1-1 lists", "[deid]") {
  const auto& table = basic_profile();
  CHECK(table.size() == 620);  // PS3.15 2024b
  std::set<std::pair<uint16_t, uint16_t>> seen;
  for (const auto& a : table) CHECK(seen.insert({a.group, a.element}).second);
  const auto action_of = [](uint16_t g, uint16_t e) {
    const ProfileAttribute* a = basic_profile_entry(g, e);
    return a ? to_string(a->action) : std::string("-");
  };
  CHECK(action_of(0x0010, 0x2000) == "X");       // Medical Alerts
  CHECK(action_of(0x0032, 0x1030) == "X");       // Reason for Study
  CHECK(action_of(0x0040, 0x0250) == "X");       // Performed Procedure Step End Date
  CHECK(action_of(0x0008, 0x0080) == "X/Z/D");   // Institution Name
  CHECK(action_of(0x0008, 0x2112) == "X/Z/U*");  // Source Image Sequence
  CHECK(action_of(0x6002, 0x4000) == "X");       // Overlay Comments, any overlay group
  CHECK(action_of(0x0028, 0x0010) == "-");       // Rows: not listed
  for (const auto& r : retained_attributes()) {
    INFO("retained (" << std::hex << r.group << "," << r.element << ")");
    const ProfileAttribute* a = basic_profile_entry(r.group, r.element);
    switch (r.how) {
      case Retain::keep:
        CHECK(a == nullptr);
        break;
      case Retain::empty:
      case Retain::pseudonym:  // a dummy value (D) or empty (Z), never the original
        REQUIRE(a != nullptr);
        CHECK(a->action != ProfileAction::X);
        CHECK(a->action != ProfileAction::U);
        break;
      case Retain::new_uid:
        REQUIRE(a != nullptr);
        CHECK(a->action == ProfileAction::U);
        break;
    }
  }
}

TEST_CASE("no attribute of PS3.15 Table E.1-1 keeps its value through de-identification",
          "[deid]") {
  testing::TempDir dir;
  DcmFileFormat file;
  DcmDataset& d = *file.getDataset();
  put_image(d);
  std::map<std::pair<uint16_t, uint16_t>, std::string> markers;
  const auto marker_for = [](uint16_t g, uint16_t e) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "E11V%04X%04X", g, e);
    return std::string(buf);
  };
  for (const auto& a : basic_profile()) {
    if (a.group == 0x0000 || a.group == 0x0002 || a.group == 0xFFFC) continue;  // not data set
    const uint16_t g = a.group, e = a.element_mask == 0 ? 0x3000 : a.element;  // 50xx: one
    const std::string marker = marker_for(g, e);
    DcmTag tag(g, e);
    INFO(marker << " " << tag.getTagName());
    if (tag.getEVR() == EVR_SQ) {
      DcmItem* item = nullptr;
      REQUIRE(d.findOrCreateSequenceItem(tag, item, -2).good());
      REQUIRE(item->putAndInsertString(DcmTag(0x0040, 0xA123, EVR_PN), marker.c_str()).good());
    } else {
      switch (tag.getEVR()) {
        case EVR_AE: case EVR_AS: case EVR_CS: case EVR_DA: case EVR_DS: case EVR_DT:
        case EVR_IS: case EVR_LO: case EVR_LT: case EVR_PN: case EVR_SH: case EVR_ST:
        case EVR_TM: case EVR_UC: case EVR_UR: case EVR_UT: case EVR_UI:
          break;
        default:
          tag.setVR(EVR_LO);  // binary or unknown to this dictionary: a text marker all the same
      }
      REQUIRE(d.putAndInsertString(tag, marker.c_str()).good());
    }
    markers[{g, e}] = marker;
  }
  d.putAndInsertString(DCM_SOPClassUID, UID_ComputedRadiographyImageStorage);
  CHECK(markers.size() >= 610);
  const std::string input = dir.path + "/all.dcm", output = dir.path + "/all-deid.dcm";
  REQUIRE(file.saveFile(input.c_str(), EXS_LittleEndianExplicit).good());
  REQUIRE(read_file(input).find(markers.begin()->second) != std::string::npos);

  const DeidRecord r = deidentify_dicom(input, output, kOptions);
  REQUIRE_FALSE(r.refused);
  const std::string bytes = read_file(output);
  Loaded out(output);
  for (const auto& [tag, marker] : markers) {
    INFO(marker << " " << DcmTag(tag.first, tag.second).getTagName());
    CHECK(bytes.find(marker) == std::string::npos);
    DcmElement* e = nullptr;
    if (out.data().findAndGetElement(DcmTagKey(tag.first, tag.second), e).good()) {
      OFString v;
      e->getOFStringArray(v);
      CHECK(std::string(v.c_str()) != marker);
    }
  }
  // What stays is what the allow-list names, with the profile's Z, D and U done.
  CHECK(value_of(out.data(), DCM_PatientName).empty());
  CHECK(value_of(out.data(), DCM_PatientID) ==
        pseudonymous_id(kOptions.secret, marker_for(0x0010, 0x0020)));
  CHECK(value_of(out.data(), DCM_StudyInstanceUID) ==
        pseudonymous_uid(kOptions.secret, marker_for(0x0020, 0x000D)));
  CHECK(value_of(out.data(), DCM_SOPClassUID) == UID_ComputedRadiographyImageStorage);
  CHECK(value_of(out.data(), DCM_Rows) == "4");
  CHECK(decode_dicom(output).pixels.size() == 16);
}

TEST_CASE("de-identification removes medical history, addresses, physicians and identifiers "
          "in sequences", "[deid]") {
  testing::TempDir dir;
  DcmFileFormat file;
  DcmDataset& d = *file.getDataset();
  put_image(d);
  const std::map<std::string, DcmTagKey> identifying = {
      {"Penicillin allergy noted", DCM_Allergies},
      {"Pacemaker fitted 2019", DCM_MedicalAlerts},
      {"Suspected TB after travel", DCM_RETIRED_ReasonForStudy},
      {"20240314", DCM_PerformedProcedureStepEndDate},
      {"12 Harbour Road^Springfield", DCM_PatientAddress},
      {"MRN-778899", DCM_RETIRED_OtherPatientIDs},
      {"Springfield General", DCM_InstitutionName},
      {"Hibbert^Julius", DCM_ReferringPhysicianName},
      {"Chest PA for Mr Simpson", DCM_StudyDescription},
      {"Series of Homer Simpson", DCM_SeriesDescription},
      {"Smoker, 40 pack-years", DCM_AdditionalPatientHistory},
      {"Lives alone, call daughter", DCM_PatientComments},
      {"555-0199", DCM_PatientTelephoneNumbers},
      {"Nuclear safety inspector", DCM_Occupation},
      {"Springfield CR Room 2", DCM_StationName},
      {"Radiology West Wing", DCM_InstitutionalDepartmentName},
      {"Riviera^Nick", DCM_PerformingPhysicianName},
      {"Smithers^Waylon", DCM_OperatorsName},
      {"ACC-424242", DCM_AccessionNumber},
      {"19560512", DCM_PatientBirthDate},
      {"SN-DET-31337", DCM_DeviceSerialNumber},
      {"Chest routine (Simpson)", DCM_ProtocolName},
      {"HP-2024-77", DCM_AdmissionID},
      {"Ward 7B Bed 3", DCM_CurrentPatientLocation},
  };
  for (const auto& [value, key] : identifying) {
    REQUIRE(d.putAndInsertString(key, value.c_str()).good());
  }
  d.putAndInsertString(DCM_PatientID, "SIMPSON-0001");
  d.putAndInsertString(DCM_BodyPartExamined, "CHEST");
  d.putAndInsertString(DCM_ViewPosition, "PA");
  // Identifiers inside sequences: one the list removes whole, one it keeps (procedure codes).
  DcmItem* other = nullptr;
  REQUIRE(d.findOrCreateSequenceItem(DCM_OtherPatientIDsSequence, other, -2).good());
  other->putAndInsertString(DCM_PatientID, "OLD-MRN-5150");
  other->putAndInsertString(DCM_IssuerOfPatientID, "Shelbyville Hospital");
  DcmItem* request = nullptr;
  REQUIRE(d.findOrCreateSequenceItem(DCM_RequestAttributesSequence, request, -2).good());
  request->putAndInsertString(DCM_RequestedProcedureID, "RP-8675309");
  request->putAndInsertString(DCM_ScheduledProcedureStepID, "SPS-1138");
  DcmItem* code = nullptr;
  REQUIRE(d.findOrCreateSequenceItem(DCM_PerformedProtocolCodeSequence, code, -2).good());
  code->putAndInsertString(DCM_CodeValue, "RPID1");
  code->putAndInsertString(DCM_CodingSchemeDesignator, "RADLEX");
  code->putAndInsertString(DCM_CodeMeaning, "Chest PA");
  code->putAndInsertString(DCM_RETIRED_OtherPatientIDs, "NESTED-MRN-2112");
  code->putAndInsertString(DCM_PatientAddress, "742 Evergreen Terrace");
  DcmItem* deeper = nullptr;
  REQUIRE(code->findOrCreateSequenceItem(DCM_ReferencedPatientSequence, deeper, -2).good());
  deeper->putAndInsertString(DCM_ReferencedSOPInstanceUID, "1.2.3.4.5.6.7.8.9.4711");
  // Private attributes, with and without a creator.
  REQUIRE(d.putAndInsertString(DcmTag(0x0009, 0x0010, EVR_LO), "VENDOR X").good());
  REQUIRE(d.putAndInsertString(DcmTag(0x0009, 0x1001, EVR_LO), "Simpson Homer J").good());
  REQUIRE(d.putAndInsertString(DcmTag(0x0019, 0x10A0, EVR_LO), "private-mrn-90210").good());
  const std::string input = dir.path + "/broad.dcm", output = dir.path + "/broad-deid.dcm";
  REQUIRE(file.saveFile(input.c_str(), EXS_LittleEndianExplicit).good());
  REQUIRE(read_file(input).find("private-mrn-90210") != std::string::npos);
  REQUIRE(read_file(input).find("NESTED-MRN-2112") != std::string::npos);

  const DeidRecord r = deidentify_dicom(input, output, kOptions);
  REQUIRE_FALSE(r.refused);
  const std::string bytes = read_file(output);
  std::vector<std::string> values = {"SIMPSON-0001", "OLD-MRN-5150", "Shelbyville Hospital",
                                     "RP-8675309", "SPS-1138", "NESTED-MRN-2112",
                                     "742 Evergreen Terrace", "1.2.3.4.5.6.7.8.9.4711",
                                     "Simpson Homer J", "private-mrn-90210", "VENDOR X"};
  for (const auto& [value, key] : identifying) values.push_back(value);
  for (const auto& value : values) {
    INFO(value);
    CHECK(bytes.find(value) == std::string::npos);
  }
  CHECK(r.private_removed >= 3);
  Loaded out(output);
  for (const auto& key : {DCM_Allergies, DCM_MedicalAlerts, DCM_RETIRED_ReasonForStudy,
                          DCM_PerformedProcedureStepEndDate, DCM_OtherPatientIDsSequence,
                          DCM_RequestAttributesSequence}) {
    CHECK(value_of(out.data(), key) == "<absent>");
  }
  CHECK(value_of(out.data(), DCM_ReferringPhysicianName).empty());  // Type 2: present, empty
  CHECK(value_of(out.data(), DCM_PatientID) == pseudonymous_id(kOptions.secret, "SIMPSON-0001"));
  CHECK(value_of(out.data(), DCM_BodyPartExamined) == "CHEST");
  CHECK(value_of(out.data(), DCM_ViewPosition) == "PA");
  DcmItem* kept = nullptr;
  REQUIRE(out.data().findAndGetSequenceItem(DCM_PerformedProtocolCodeSequence, kept, 0).good());
  OFString meaning;
  CHECK(kept->findAndGetOFString(DCM_CodeMeaning, meaning).good());
  CHECK(meaning == "Chest PA");
  CHECK_FALSE(kept->tagExists(DCM_ReferencedPatientSequence));
  bool named = false;
  for (const auto& k : r.removed) named |= k == "MedicalAlerts";
  CHECK(named);
}

TEST_CASE("the de-identification cache defaults to the agent's own cache folder, created 0700 "
          "with a 0600 key", "[deid]") {
  testing::TempDir dir;
  DataSourceConfig config;
  config.source = "image_folder";
  {
    ScopedEnv xdg("XDG_CACHE_HOME", (dir.path + "/xdg").c_str());
    DeidGate gate(config);
    const std::string expected = dir.path + "/xdg/fedxray/deid";
    CHECK(gate.cache_dir() == expected);
    CHECK(mode_of(expected) == 0700);
    CHECK(mode_of(dir.path + "/xdg/fedxray") == 0700);
    CHECK(mode_of(expected + "/site-secret.key") == 0600);
    const std::string key = read_file(expected + "/site-secret.key");
    CHECK(key.size() == 32);
    DeidGate again(config);  // the same key: pseudonyms stay stable across runs
    CHECK(read_file(expected + "/site-secret.key") == key);
  }
  {
    ScopedEnv xdg("XDG_CACHE_HOME", nullptr);
    ScopedEnv home("HOME", (dir.path + "/home").c_str());
    REQUIRE(::mkdir((dir.path + "/home").c_str(), 0755) == 0);
    DeidGate gate(config);
    CHECK(gate.cache_dir() == dir.path + "/home/.cache/fedxray/deid");
    CHECK(mode_of(gate.cache_dir()) == 0700);
  }
}

TEST_CASE("a de-identification cache folder that group or others may read is refused", "[deid]") {
  GateFolder f;
  REQUIRE(::chmod(f.cache.c_str(), 0755) == 0);
  CHECK_THROWS_WITH(DeidGate(f.config()), Catch::Contains(f.cache) && Catch::Contains("chmod 700"));
  CHECK(mode_of(f.cache) == 0755);  // refused, not silently changed
  REQUIRE(::chmod(f.cache.c_str(), 0700) == 0);
  CHECK_NOTHROW(DeidGate(f.config()));
}

TEST_CASE("a de-identification key that group or others may read is refused", "[deid]") {
  GateFolder f;
  REQUIRE(::chmod(f.key.c_str(), 0644) == 0);
  CHECK_THROWS_WITH(DeidGate(f.config()), Catch::Contains(f.key) && Catch::Contains("chmod 600"));
  DataSourceConfig elsewhere = f.config();  // a configured key file is held to the same rule
  elsewhere.deid_secret_file = f.dir.path + "/configured.key";
  write_file_atomically(elsewhere.deid_secret_file, std::string(32, 'c'), 0640);
  CHECK_THROWS_WITH(DeidGate(elsewhere),
                    Catch::Contains("configured.key") && Catch::Contains("chmod 600"));
}

TEST_CASE("a symbolic link as de-identification key or cache folder is refused", "[deid]") {
  GateFolder f;
  const std::string real = f.dir.path + "/real.key";
  write_file_atomically(real, std::string(32, 'r'), 0600);
  REQUIRE(::unlink(f.key.c_str()) == 0);
  REQUIRE(::symlink(real.c_str(), f.key.c_str()) == 0);
  CHECK_THROWS_WITH(DeidGate(f.config()),
                    Catch::Contains(f.key) && Catch::Contains("symbolic link"));
  const std::string linked = f.dir.path + "/linked-cache";
  REQUIRE(::symlink(f.cache.c_str(), linked.c_str()) == 0);
  DataSourceConfig c = f.config();
  c.deid_cache = linked;
  CHECK_THROWS_WITH(DeidGate(c), Catch::Contains(linked) && Catch::Contains("symbolic link"));
}

TEST_CASE("a de-identification cache folder or key owned by another user is refused", "[deid]") {
  if (::geteuid() != 0) FEDXRAY_SKIP("giving a file to another uid needs root");
  GateFolder f;
  REQUIRE(::chown(f.key.c_str(), 12345, 12345) == 0);
  CHECK_THROWS_WITH(DeidGate(f.config()), Catch::Contains(f.key) && Catch::Contains("uid 12345") &&
                                              Catch::Contains("chown"));
  REQUIRE(::chown(f.key.c_str(), 0, 0) == 0);
  REQUIRE(::chown(f.cache.c_str(), 12345, 12345) == 0);
  CHECK_THROWS_WITH(DeidGate(f.config()), Catch::Contains(f.cache) && Catch::Contains("uid 12345"));
}

TEST_CASE("a de-identification cache in a folder anyone may write without the sticky bit is "
          "refused", "[deid]") {
  GateFolder f;
  const std::string open_dir = f.dir.path + "/open";
  REQUIRE(::mkdir(open_dir.c_str(), 0700) == 0);
  REQUIRE(::chmod(open_dir.c_str(), 0777) == 0);
  DataSourceConfig c = f.config();
  c.deid_cache = open_dir + "/deid";
  CHECK_THROWS_WITH(DeidGate(c), Catch::Contains(open_dir) && Catch::Contains("chmod go-w"));
  REQUIRE(::chmod(open_dir.c_str(), 01777) == 0);  // like /tmp: others cannot replace our folder
  CHECK_NOTHROW(DeidGate(c));
}

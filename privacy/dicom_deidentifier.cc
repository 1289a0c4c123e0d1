#include "privacy/dicom_deidentifier.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <utility>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrcs.h>

#include "common/error.h"

namespace fedxray {
namespace {

enum class Action { remove, empty, pseudonym };

using Tag = std::pair<Uint16, Uint16>;

// PS3.15 Annex E, Table E.1-1, Basic Profile column, for the attributes radiographs carry.
// Where the profile allows X/Z/D the stricter applicable action is used.
const std::map<Tag, Action>& profile() {
  static const std::map<Tag, Action> table = {
      // Patient
      {{0x0010, 0x0010}, Action::empty},      // Patient's Name (Z)
      {{0x0010, 0x0020}, Action::pseudonym},  // Patient ID (Z; keyed pseudonym so splits by
                                              // patient stay possible)
      {{0x0010, 0x0021}, Action::remove},     // Issuer of Patient ID
      {{0x0010, 0x0030}, Action::empty},      // Patient's Birth Date (Z)
      {{0x0010, 0x0032}, Action::remove},     // Patient's Birth Time
      {{0x0010, 0x0040}, Action::empty},      // Patient's Sex (Z)
      {{0x0010, 0x0050}, Action::remove},     // Patient's Insurance Plan Code Sequence
      {{0x0010, 0x1000}, Action::remove},     // Other Patient IDs
      {{0x0010, 0x1001}, Action::remove},     // Other Patient Names
      {{0x0010, 0x1002}, Action::remove},     // Other Patient IDs Sequence
      {{0x0010, 0x1005}, Action::remove},     // Patient's Birth Name
      {{0x0010, 0x1010}, Action::remove},     // Patient's Age
      {{0x0010, 0x1020}, Action::remove},     // Patient's Size
      {{0x0010, 0x1030}, Action::remove},     // Patient's Weight
      {{0x0010, 0x1040}, Action::remove},     // Patient's Address
      {{0x0010, 0x1060}, Action::remove},     // Patient's Mother's Birth Name
      {{0x0010, 0x1080}, Action::remove},     // Military Rank
      {{0x0010, 0x1081}, Action::remove},     // Branch of Service
      {{0x0010, 0x1090}, Action::remove},     // Medical Record Locator
      {{0x0010, 0x1100}, Action::remove},     // Referenced Patient Photo Sequence
      {{0x0010, 0x2154}, Action::remove},     // Patient's Telephone Numbers
      {{0x0010, 0x2160}, Action::remove},     // Ethnic Group
      {{0x0010, 0x2180}, Action::remove},     // Occupation
      {{0x0010, 0x21B0}, Action::remove},     // Additional Patient History
      {{0x0010, 0x21C0}, Action::remove},     // Pregnancy Status
      {{0x0010, 0x2203}, Action::remove},     // Patient's Sex Neutered
      {{0x0010, 0x4000}, Action::remove},     // Patient Comments
      // Study, series, instance
      {{0x0008, 0x0012}, Action::remove},     // Instance Creation Date
      {{0x0008, 0x0013}, Action::remove},     // Instance Creation Time
      {{0x0008, 0x0020}, Action::empty},      // Study Date (Z)
      {{0x0008, 0x0021}, Action::remove},     // Series Date
      {{0x0008, 0x0022}, Action::remove},     // Acquisition Date
      {{0x0008, 0x0023}, Action::empty},      // Content Date (Z)
      {{0x0008, 0x002A}, Action::remove},     // Acquisition DateTime
      {{0x0008, 0x0030}, Action::empty},      // Study Time (Z)
      {{0x0008, 0x0031}, Action::remove},     // Series Time
      {{0x0008, 0x0032}, Action::remove},     // Acquisition Time
      {{0x0008, 0x0033}, Action::empty},      // Content Time (Z)
      {{0x0008, 0x0050}, Action::empty},      // Accession Number (Z)
      {{0x0008, 0x0080}, Action::remove},     // Institution Name
      {{0x0008, 0x0081}, Action::remove},     // Institution Address
      {{0x0008, 0x0082}, Action::remove},     // Institution Code Sequence
      {{0x0008, 0x0090}, Action::empty},      // Referring Physician's Name (Z)
      {{0x0008, 0x0092}, Action::remove},     // Referring Physician's Address
      {{0x0008, 0x0094}, Action::remove},     // Referring Physician's Telephone Numbers
      {{0x0008, 0x0096}, Action::remove},     // Referring Physician Identification Sequence
      {{0x0008, 0x0201}, Action::remove},     // Timezone Offset From UTC
      {{0x0008, 0x1010}, Action::remove},     // Station Name
      {{0x0008, 0x1030}, Action::remove},     // Study Description
      {{0x0008, 0x103E}, Action::remove},     // Series Description
      {{0x0008, 0x1040}, Action::remove},     // Institutional Department Name
      {{0x0008, 0x1048}, Action::remove},     // Physician(s) of Record
      {{0x0008, 0x1050}, Action::remove},     // Performing Physician's Name
      {{0x0008, 0x1060}, Action::remove},     // Name of Physician(s) Reading Study
      {{0x0008, 0x1070}, Action::remove},     // Operators' Name
      {{0x0008, 0x1080}, Action::remove},     // Admitting Diagnoses Description
      {{0x0008, 0x1084}, Action::remove},     // Admitting Diagnoses Code Sequence
      {{0x0008, 0x1110}, Action::remove},     // Referenced Study Sequence
      {{0x0008, 0x1111}, Action::remove},     // Referenced Performed Procedure Step Sequence
      {{0x0008, 0x1120}, Action::remove},     // Referenced Patient Sequence
      {{0x0008, 0x1140}, Action::remove},     // Referenced Image Sequence
      {{0x0008, 0x2111}, Action::remove},     // Derivation Description
      {{0x0008, 0x2112}, Action::remove},     // Source Image Sequence
      {{0x0018, 0x1000}, Action::remove},     // Device Serial Number
      {{0x0018, 0x1004}, Action::remove},     // Plate ID
      {{0x0018, 0x1005}, Action::remove},     // Generator ID
      {{0x0018, 0x1007}, Action::remove},     // Cassette ID
      {{0x0018, 0x1008}, Action::remove},     // Gantry ID
      {{0x0018, 0x1030}, Action::remove},     // Protocol Name
      {{0x0018, 0x1200}, Action::remove},     // Date of Last Calibration
      {{0x0018, 0x1201}, Action::remove},     // Time of Last Calibration
      {{0x0018, 0x700A}, Action::remove},     // Detector ID
      {{0x0020, 0x0010}, Action::empty},      // Study ID (Z)
      {{0x0020, 0x4000}, Action::remove},     // Image Comments
      {{0x0032, 0x1032}, Action::remove},     // Requesting Physician
      {{0x0032, 0x1033}, Action::remove},     // Requesting Service
      {{0x0032, 0x1060}, Action::remove},     // Requested Procedure Description
      {{0x0038, 0x0010}, Action::remove},     // Admission ID
      {{0x0038, 0x0300}, Action::remove},     // Current Patient Location
      {{0x0040, 0x0244}, Action::remove},     // Performed Procedure Step Start Date
      {{0x0040, 0x0245}, Action::remove},     // Performed Procedure Step Start Time
      {{0x0040, 0x0253}, Action::remove},     // Performed Procedure Step ID
      {{0x0040, 0x0254}, Action::remove},     // Performed Procedure Step Description
      {{0x0040, 0x0275}, Action::remove},     // Request Attributes Sequence
      {{0x0040, 0x1001}, Action::remove},     // Requested Procedure ID
      {{0x0040, 0x2016}, Action::remove},     // Placer Order Number / Imaging Service Request
      {{0x0040, 0x2017}, Action::remove},     // Filler Order Number / Imaging Service Request
      {{0x0040, 0xA730}, Action::remove},     // Content Sequence
      {{0x0400, 0x0561}, Action::remove},     // Original Attributes Sequence
  };
  return table;
}

// UIDs that name classes and encodings, not instances: kept.
bool keeps_uid(Uint16 g, Uint16 e) {
  static const std::set<Tag> keep = {{0x0002, 0x0002}, {0x0002, 0x0010}, {0x0002, 0x0012},
                                     {0x0008, 0x0016}, {0x0008, 0x001A}, {0x0008, 0x0062},
                                     {0x0008, 0x010C}, {0x0008, 0x1150}, {0x0004, 0x1510},
                                     {0x0004, 0x1512}};
  return keep.count({g, e}) > 0;
}

std::string hmac_sha256(const std::string& key, const std::string& data) {
  unsigned char out[32];
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, sizeof out,
                 &len) ||
      len != sizeof out) {
    throw Error("HMAC-SHA256 failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string name_of(DcmTag tag) {
  const char* name = tag.getTagName();
  if (name && std::string(name) != "Unknown Tag & Data") return name;
  char buf[16];
  std::snprintf(buf, sizeof buf, "(%04X,%04X)", tag.getGroup(), tag.getElement());
  return buf;
}

struct Cleaner {
  const DeidOptions& options;
  DeidRecord& record;
  std::set<std::string> removed, emptied;

  void clean(DcmItem& item) {
    for (unsigned long i = item.card(); i-- > 0;) {
      DcmElement* e = item.getElement(i);
      if (!e) continue;
      const DcmTag tag = e->getTag();
      const Uint16 g = tag.getGroup(), el = tag.getElement();
      if (el == 0x0000) continue;  // group length, recomputed on write
      if (tag.isPrivate()) {
        delete item.remove(e);
        ++record.private_removed;
        continue;
      }
      if ((g & 0xFF00) == 0x6000 || (g & 0xFF00) == 0x5000) {
        delete item.remove(e);
        ++record.overlays_removed;
        continue;
      }
      auto it = profile().find({g, el});
      const DcmEVR vr = e->ident();
      if (it != profile().end()) {
        switch (it->second) {
          case Action::remove:
            removed.insert(name_of(tag));
            delete item.remove(e);
            continue;
          case Action::empty:
            emptied.insert(name_of(tag));
            e->putString("");
            continue;
          case Action::pseudonym: {
            OFString id;
            e->getOFStringArray(id);
            e->putString(pseudonymous_id(options.secret, id.c_str()).c_str());
            record.pseudonymised.push_back(name_of(tag));
            continue;
          }
        }
      }
      if (vr == EVR_PN || vr == EVR_LT || vr == EVR_ST || vr == EVR_UT) {  // safety net
        removed.insert(name_of(tag));
        delete item.remove(e);
        continue;
      }
      if (vr == EVR_UI && !keeps_uid(g, el)) {
        OFString uid;
        e->getOFStringArray(uid);
        if (!uid.empty()) {
          e->putString(pseudonymous_uid(options.secret, uid.c_str()).c_str());
          ++record.replaced_uids;
        }
        continue;
      }
      if (vr == EVR_SQ) {
        auto* seq = static_cast<DcmSequenceOfItems*>(e);
        for (unsigned long k = 0; k < seq->card(); ++k) clean(*seq->getItem(k));
      }
    }
  }
};

}  // namespace

std::string pseudonymous_uid(const std::string& secret, const std::string& uid) {
  const std::string mac = hmac_sha256(secret, "uid\n" + uid);
  unsigned __int128 n = 0;
  for (int i = 0; i < 16; ++i) n = (n << 8) | uint8_t(mac[std::size_t(i)]);
  std::string digits;
  do {
    digits.insert(digits.begin(), char('0' + int(n % 10)));
    n /= 10;
  } while (n > 0);
  return "2.25." + digits;
}

std::string pseudonymous_id(const std::string& secret, const std::string& id) {
  const std::string mac = hmac_sha256(secret, "patient\n" + id);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 8; ++i) {
    out.push_back(hex[uint8_t(mac[std::size_t(i)]) >> 4]);
    out.push_back(hex[uint8_t(mac[std::size_t(i)]) & 15]);
  }
  return out;
}

DeidRecord deidentify_dicom(const std::string& input, const std::string& output,
                            const DeidOptions& options) {
  if (options.secret.size() < 16) throw Error("the de-identification secret must be at least 16 bytes");
  DcmFileFormat file;
  OFCondition status = file.loadFile(input.c_str());
  if (status.bad()) throw Error(input + ": not readable as DICOM: " + status.text());
  DcmDataset& data = *file.getDataset();
  DeidRecord record;
  OFString burned;
  if (data.findAndGetOFString(DCM_BurnedInAnnotation, burned).good() && burned == "YES" &&
      !options.allow_burned_in_annotation) {
    record.refused = true;
    record.reason = "Burned In Annotation is YES: text may be burned into the pixels; refused by "
                    "policy (set data.allow_burned_in_annotation to accept such images)";
    return record;
  }
  Cleaner cleaner{options, record, {}, {}};
  cleaner.clean(data);
  record.removed.assign(cleaner.removed.begin(), cleaner.removed.end());
  record.emptied.assign(cleaner.emptied.begin(), cleaner.emptied.end());
  data.putAndInsertString(DCM_PatientIdentityRemoved, "YES");
  data.putAndInsertString(DCM_DeidentificationMethod,
                          "fedxray: PS3.15 Annex E Basic Application Level Confidentiality Profile");
  // The file meta header names the instance too.
  DcmMetaInfo& meta = *file.getMetaInfo();
  OFString sop;
  if (data.findAndGetOFString(DCM_SOPInstanceUID, sop).good()) {
    meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop.c_str());
  }
  meta.findAndDeleteElement(DCM_SourceApplicationEntityTitle);
  const std::string tmp = output + ".tmp";
  status = file.saveFile(tmp.c_str(), EXS_Unknown);  // same transfer syntax: pixels untouched
  if (status.bad()) {
    std::remove(tmp.c_str());
    throw Error(output + ": cannot write the de-identified copy: " + status.text());
  }
  std::filesystem::rename(tmp, output);
  record.output = output;
  return record;
}

}  // namespace fedxray

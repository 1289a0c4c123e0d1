#include "privacy/deid/dicom_deidentifier.h"

#include <openssl/evp.h>

#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <utility>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcitem.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcvrcs.h>

#include "base/error.h"
#include "base/hex.h"
#include "privacy/deid/confidentiality_profile.h"

namespace fedxray {
namespace {

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

  // Keeps what the allow-list names, with its action; removes everything else.
  void clean(DcmItem& item) {
    for (unsigned long i = item.card(); i-- > 0;) {
      DcmElement* e = item.getElement(i);
      if (!e) continue;
      const DcmTag tag = e->getTag();
      const Uint16 g = tag.getGroup(), el = tag.getElement();
      if (el == 0x0000) {  // group length: retired in data sets, recomputed where needed
        delete item.remove(e);
        continue;
      }
      const std::optional<Retain> how = retained_attribute(g, el);
      if (!how) {
        if (tag.isPrivate()) {
          ++record.private_removed;
        } else if ((g & 0xFF00) == 0x6000 || (g & 0xFF00) == 0x5000) {
          ++record.overlays_removed;
        } else {
          removed.insert(name_of(tag));
        }
        delete item.remove(e);
        continue;
      }
      switch (*how) {
        case Retain::keep:
          break;
        case Retain::empty:
          emptied.insert(name_of(tag));
          e->putString("");
          break;
        case Retain::pseudonym: {
          OFString id;
          e->getOFStringArray(id);
          e->putString(pseudonymous_id(options.secret, id.c_str()).c_str());
          record.pseudonymised.push_back(name_of(tag));
          break;
        }
        case Retain::new_uid: {
          OFString uid;
          e->getOFStringArray(uid);
          if (!uid.empty()) {
            e->putString(pseudonymous_uid(options.secret, uid.c_str()).c_str());
            ++record.replaced_uids;
          }
          break;
        }
      }
      if (e->ident() == EVR_SQ) {
        auto* seq = static_cast<DcmSequenceOfItems*>(e);
        for (unsigned long k = 0; k < seq->card(); ++k) clean(*seq->getItem(k));
      }
    }
  }
};

// The file meta header keeps only what says how to read the file; the sending and receiving
// application entities, addresses and private information go.
void clean_meta(DcmMetaInfo& meta) {
  static const std::set<Uint16> keep = {0x0000, 0x0001, 0x0002, 0x0003, 0x0010, 0x0012, 0x0013};
  for (unsigned long i = meta.card(); i-- > 0;) {
    DcmElement* e = meta.getElement(i);
    if (e && keep.count(e->getTag().getElement()) == 0) delete meta.remove(e);
  }
}

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
  return to_hex(mac.data(), 8);
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
                          "fedxray: PS3.15 Annex E Basic Application Level Confidentiality "
                          "Profile, allow-list");
  // The file meta header names the instance too.
  DcmMetaInfo& meta = *file.getMetaInfo();
  OFString sop;
  if (data.findAndGetOFString(DCM_SOPInstanceUID, sop).good()) {
    meta.putAndInsertString(DCM_MediaStorageSOPInstanceUID, sop.c_str());
  }
  clean_meta(meta);
  const std::string tmp = output + ".tmp";
  status = file.saveFile(tmp.c_str(), EXS_Unknown);  // same transfer syntax: pixels untouched
  if (status.bad()) {
    std::remove(tmp.c_str());
    throw Error(output + ": cannot write the de-identified copy: " + status.text());
  }
  std::error_code ec;  // owner only, whatever the umask; the cache folder is 0700 as well
  std::filesystem::permissions(tmp, std::filesystem::perms::owner_read |
                                        std::filesystem::perms::owner_write, ec);
  std::filesystem::rename(tmp, output);
  record.output = output;
  return record;
}

}  // namespace fedxray

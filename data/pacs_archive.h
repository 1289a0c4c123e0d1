// PacsArchive: a hospital's image archive as the pacs data source sees it: find the instances
// of the studies a job may use, and retrieve one instance as a DICOM file. Two implementations:
// DICOMweb (data/dicomweb_archive.h: QIDO-RS, WADO-RS) and DIMSE (data/dimse_archive.h: C-FIND,
// C-GET).
//
// Contract: every call either succeeds or throws fedxray::Error naming the archive, what was
// asked and what came back (HTTP status or DIMSE status); PacsUnavailable when the archive could
// not be reached at all (refused, timed out), which callers retry with backoff. Nothing an
// archive returns is trusted: replies are parsed defensively, UIDs checked before use, DICOMweb
// replies bounded in size (DIMSE C-FIND result counts are not yet). The instances
// come back exactly as the PACS holds them, identifying attributes included: the caller sends
// them through the de-identification gate before anything decodes them.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "base/error.h"

namespace fedxray {

// The archive could not be reached (connection refused or timed out); worth retrying.
class PacsUnavailable : public Error {
 public:
  using Error::Error;
};

// Which studies and series a job may use; empty fields match anything.
struct PacsQuery {
  std::string study_date;  // "YYYYMMDD-YYYYMMDD", either end may be open
  std::string modality;    // series Modality, e.g. CR or DX
  std::string body_part;   // series Body Part Examined, e.g. CHEST
};

struct PacsStudy {
  std::string study_uid;
  std::string accession_number;
  std::string patient_id;
};

struct PacsInstance {
  PacsStudy study;
  std::string series_uid;
  std::string sop_uid;
};

// `uid` as a PACS returned it, checked before it goes into a URL, a query or a file name: 1-64
// characters, digits in dot-separated components (PS3.5 9.1), so never ".", ".." or empty.
// Throws Error naming `what`.
inline std::string checked_pacs_uid(const std::string& uid, const std::string& what) {
  bool valid = !uid.empty() && uid.size() <= 64 && uid.front() != '.' && uid.back() != '.' &&
               uid.find("..") == std::string::npos;
  for (char c : uid) valid = valid && ((c >= '0' && c <= '9') || c == '.');
  if (!valid)
    throw Error("the PACS returned an invalid " + what + " \"" + uid.substr(0, 80) + "\"");
  return uid;
}

class PacsArchive {
 public:
  virtual ~PacsArchive() = default;
  // "dicomweb https://..." or "dimse AE@host:port", for messages and the status report.
  virtual std::string describe() const = 0;
  // A cheap round trip (a one-result QIDO query, a C-ECHO); throws when the archive is not usable.
  virtual void ping() = 0;
  // The studies matching the date range (and modality where the archive filters studies by it).
  virtual std::vector<PacsStudy> find_studies(const PacsQuery& query) = 0;
  // The instances of one study whose series match the query's modality and body part.
  virtual std::vector<PacsInstance> find_instances(const PacsStudy& study,
                                                   const PacsQuery& query) = 0;
  // Writes the instance, as a DICOM Part 10 file, to `path` (overwriting it).
  virtual void retrieve(const PacsInstance& instance, const std::string& path) = 0;
};

}  // namespace fedxray

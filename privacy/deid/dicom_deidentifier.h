// The de-identification gate: before a site uses any DICOM image, it writes a de-identified copy
// into a local cache following the DICOM PS3.15 Annex E Basic Application Level Confidentiality
// Profile, and only that copy is ever decoded.
//
// What is done to every data set, nested sequence items included: only the attributes the
// allow-list in privacy/deid/confidentiality_profile.h names are kept; everything else is removed,
// whatever its tag: names, IDs, dates, institutions, physicians, devices, free text, medical
// history, private attributes (odd groups), overlays (60xx), curves (50xx), unknown tags and
// sequences the list does not name. Of what is kept:
// - Patient's Name, Birth Date, Sex, Study Date and Time, Content Date and Time, Accession
//   Number, Referring Physician's Name and Study ID stay present but empty (the profile's Z);
// - Patient ID becomes a pseudonym, and the SOP, study and series instance UIDs new UIDs
//   "2.25.<n>", both from HMAC-SHA256 with the site's secret: consistent across files (the three
//   images of one patient keep one pseudonym and one study UID), not reversible without the
//   secret; the SOP Class UID is kept;
// - Specific Character Set is kept, so values in ISO 2022 (Japanese IR 87, Korean IR 149, ...)
//   or UTF-8 that stay are read as written; the removed ones are gone byte for byte;
// - the image pixel module, modality LUT and rescale, and the labels (modality, body part, view,
//   laterality, procedure and anatomy codes) are kept; pixel data is copied unchanged
//   (compressed fragments too);
// - Patient Identity Removed = YES and De-identification Method are set; the file meta header
//   keeps only its version, SOP class and instance, transfer syntax and implementation.
// No attribute DICOM PS3.15 Table E.1-1 lists keeps its original value (the tests check each).
// An image with Burned In Annotation = YES is refused unless the policy allows it.
//
// The record of what was done never contains the identifying values themselves.
#pragma once

#include <string>
#include <vector>

namespace fedxray {

struct DeidOptions {
  std::string secret;                       // HMAC key: the site's secret (>= 16 bytes)
  bool allow_burned_in_annotation = false;  // policy: accept images with text burned in
};

struct DeidRecord {
  std::string output;                       // the de-identified copy (empty when refused)
  bool refused = false;
  std::string reason;                       // why it was refused
  std::vector<std::string> removed;         // attribute keywords (or "(gggg,eeee)")
  std::vector<std::string> emptied;
  std::vector<std::string> pseudonymised;   // Patient ID
  int replaced_uids = 0;
  int private_removed = 0;
  int overlays_removed = 0;
};

// De-identifies `input` into `output` (written atomically). Throws Error when the file is not
// readable DICOM or the copy cannot be written; a refusal is reported in the record, not thrown.
DeidRecord deidentify_dicom(const std::string& input, const std::string& output,
                            const DeidOptions& options);

// The keyed pseudonyms, exposed for tests and the manifest check: "2.25.<decimal>" for UIDs,
// 16 hex digits for patient IDs.
std::string pseudonymous_uid(const std::string& secret, const std::string& uid);
std::string pseudonymous_id(const std::string& secret, const std::string& id);

}  // namespace fedxray

// Made-up DICOM studies for the PACS tests: small 12-bit CR instances with identifying
// attributes (patient name and ID, accession number), written with DCMTK and uploaded to a real
// Orthanc (tests/orthanc_server.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tests/orthanc_server.h"

namespace fedxray::testing {

struct Study {
  std::string patient_id, patient_name, accession;
  int instances = 1;
  bool burned_in = false;  // Burned In Annotation YES: the de-identification gate refuses it
  int size = 24;           // rows = columns
  std::string study_date = "20240115";
  std::string modality = "CR";
  std::string body_part = "CHEST";
};

// Writes one study's instances (a pixel pattern that depends on the accession number) into
// `folder` and returns their files. UIDs are fresh each call.
std::vector<std::string> write_study(const std::string& folder, const Study& s);

// Uploads studies ACC<first>, ACC<first+1>, ... (patients P0..P<patients-1> in turn, label
// i % 2) and returns the labels file's text. `before_upload` may re-encode a study's files.
std::string upload_studies(
    OrthancServer& pacs, const std::string& made, int first, int count, int patients, int instances,
    int size, const std::function<void(int, std::vector<std::string>&)>& before_upload = {});

}  // namespace fedxray::testing

// Feeds the input to deidentify_dicom (privacy/deid/dicom_deidentifier.h) as a DICOM file from a
// site's image folder, writing the copy into the fuzzer's temporary folder. Finding: anything but
// fedxray::Error, a record that is refused without a reason or has an output path exactly when it
// was refused, or any crash, leak or sanitizer report (DCMTK's own included: it parses the input).
#include <cstdlib>

#include <dcmtk/oflog/oflog.h>

#include "base/error.h"
#include "fuzz/fuzz_support.h"
#include "privacy/deid/dicom_deidentifier.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  OFLog::configure(OFLogger::OFF_LOG_LEVEL);  // DCMTK would warn on every malformed input
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string input = fedxray::fuzz::write_input(data, size, "input.dcm");
  const std::string output = fedxray::fuzz::temp_folder() + "/deidentified.dcm";
  fedxray::DeidOptions options;
  options.secret = "fuzz-site-secret-0123456789abcdef";
  try {
    const fedxray::DeidRecord record = fedxray::deidentify_dicom(input, output, options);
    if (record.refused == !record.output.empty()) std::abort();
    if (record.refused && record.reason.empty()) std::abort();
  } catch (const fedxray::Error&) {
  }
  return 0;
}

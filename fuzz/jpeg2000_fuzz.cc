// Feeds the input to decode_jpeg2000 (data/jpeg2000_codestream.h) as a DICOM frame's JPEG 2000
// codestream, which a PACS or a file supplies. Finding: anything but fedxray::Error, a result
// whose sample count does not match its size, or any crash, leak or sanitizer report.
#include <cstdlib>

#include "base/error.h"
#include "data/jpeg2000_codestream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const fedxray::Jpeg2000Image image = fedxray::decode_jpeg2000(data, size);
    if (image.samples.size() != std::size_t(image.width) * std::size_t(image.height)) std::abort();
  } catch (const fedxray::Error&) {
  }
  return 0;
}

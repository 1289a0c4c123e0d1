// Decoding one JPEG 2000 image (a DICOM frame's codestream, or a JP2 file) with OpenJPEG into
// integer samples: what DICOM's JPEG 2000 transfer syntaxes (1.2.840.10008.1.2.4.90 lossless,
// .91 lossy) carry and DCMTK 3.6.7 cannot decode by itself.
//
// Contract: a grayscale image (one component) decodes to width*height samples in row order,
// with the codestream's precision (bits) and signedness; anything else (several components,
// subsampled components, a truncated or corrupt stream) throws fedxray::Error saying what. The
// header is checked before anything is decoded: more than kMaxJpeg2000Pixels, or a size other
// than the expected one (the DICOM header's Rows and Columns, when given), is refused, so a
// hostile codestream cannot make the agent allocate gigabytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace fedxray {

struct Jpeg2000Image {
  int width = 0;
  int height = 0;
  int precision = 0;  // bits per sample in the codestream
  bool is_signed = false;
  std::vector<int32_t> samples;
};

constexpr int64_t kMaxJpeg2000Pixels = int64_t(1) << 26;  // 8192 x 8192

// `expected_width` / `expected_height` of 0: any size up to the limit.
Jpeg2000Image decode_jpeg2000(const uint8_t* data, std::size_t size, int expected_width = 0,
                              int expected_height = 0);

}  // namespace fedxray

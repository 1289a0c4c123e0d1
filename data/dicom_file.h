// Decoding a DICOM radiograph (DCMTK) into a grayscale image in [0, 1].
//
// The modality transform (Rescale Slope/Intercept or a Modality LUT) is applied by DCMTK; the
// full stored depth (10-16 bits) is kept as float until the image is normalised by its own
// minimum and maximum; MONOCHROME1 is inverted so that bone is bright, as in MONOCHROME2.
// Compressed pixel data is decoded with DCMTK's codecs (JPEG baseline/extended/lossless, RLE);
// a transfer syntax DCMTK cannot decode (JPEG 2000, for example) throws fedxray::Error naming
// the file and the transfer syntax. Only the first frame of a multi-frame object is used.
#pragma once

#include <string>

#include "data/image_file.h"

namespace fedxray {

// True when the file carries the DICOM Part 10 preamble ("DICM" at byte 128).
bool looks_like_dicom(const std::string& path);
GrayImage decode_dicom(const std::string& path);

}  // namespace fedxray

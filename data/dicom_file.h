// Decoding a DICOM radiograph (DCMTK) into a grayscale image in [0, 1].
//
// The modality transform (Rescale Slope/Intercept or a Modality LUT) is applied by DCMTK; the
// full stored depth (10-16 bits) is kept as float until the image is normalised by its own
// minimum and maximum; MONOCHROME1 is inverted so that bone is bright, as in MONOCHROME2.
// Compressed pixel data is decoded with DCMTK's codecs (JPEG baseline/extended/lossless, RLE,
// JPEG-LS) or, for JPEG 2000 (lossless and lossy), with OpenJPEG (data/jpeg2000_codestream.h)
// before DCMTK applies the same transforms; a transfer syntax neither can decode throws
// fedxray::Error naming the file and the transfer syntax. A multi-frame object is refused with
// an Error (a radiograph is one frame). Files without the 128-byte preamble and "DICM" (a bare
// data set, as old modalities write) are recognised and read too.
#pragma once

#include <string>

#include "data/image_file.h"

namespace fedxray {

// True when the file carries the DICOM Part 10 preamble ("DICM" at byte 128), or starts like a
// bare little-endian data set or meta header (a tag of group 0002 or 0008).
bool looks_like_dicom(const std::string& path);
GrayImage decode_dicom(const std::string& path);

}  // namespace fedxray

// Decoding one radiograph file (PNG, JPEG or DICOM, told apart by content) into a grayscale
// image with values in [0, 1], and resizing it to a job's square size. DICOM: see dicom_file.h.
//
// PNG: 8- and 16-bit grayscale keep their full depth until the division to [0, 1]; RGB and RGBA
// are converted to luminance (Rec. 601 weights; alpha ignored); palettes are expanded. JPEG:
// libjpeg with output forced to grayscale. Any failure throws fedxray::Error naming the file.
#pragma once

#include <string>
#include <vector>

namespace fedxray {

struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<float> pixels;  // row-major, [0, 1]
};

GrayImage decode_image_file(const std::string& path);

// Resizes to size x size: area averaging when shrinking, bilinear when enlarging.
std::vector<float> resize_square(const GrayImage& image, int size);

}  // namespace fedxray

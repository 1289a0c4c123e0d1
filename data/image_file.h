// Decoding one radiograph file (PNG, JPEG or DICOM, told apart by content) into a grayscale
// image with values in [0, 1], and resizing it to a job's square size. DICOM: see dicom_file.h.
//
// PNG (libpng's simplified API): 8- and 16-bit grayscale keep their full depth until the
// division to [0, 1]; RGB and RGBA are converted to luminance (Rec. 601 weights; alpha ignored,
// except that a fully transparent 16-bit pixel reads as 0); palettes are expanded; a gAMA chunk,
// if present, is honoured. JPEG: libjpeg with output forced to grayscale.
//
// Untrusted input: the size in the file's header is checked before any pixel memory is
// allocated; an image over kMaxImageSide on a side or kMaxImagePixels in all is refused. libpng
// and libjpeg errors never jump over C++ objects. Any failure throws fedxray::Error naming the
// file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

// Radiographs are at most ~4k x 5k pixels; these leave ample room and bound one decode's memory
// (at most 64 Mi pixels: 512 MiB for a 16-bit RGBA buffer plus 256 MiB of floats).
constexpr int kMaxImageSide = 16384;
constexpr uint64_t kMaxImagePixels = uint64_t(8192) * 8192;

struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<float> pixels;  // row-major, [0, 1]
};

GrayImage decode_image_file(const std::string& path);

// Resizes to size x size: area averaging when shrinking, bilinear when enlarging.
std::vector<float> resize_square(const GrayImage& image, int size);

}  // namespace fedxray

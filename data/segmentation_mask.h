// Segmentation masks as a site reads them: a grayscale PNG the size of its image, either 0/255
// (one structure on background) or class indices 0..classes-1 stored as 8-bit values.
// Torch-free.
#pragma once

#include <cstdint>
#include <vector>

#include "data/image_file.h"

namespace fedxray {

// The mask's pixel classes resized to size x size the way resize_square resizes its image (so
// mask and image stay aligned): each class's share of a target pixel is computed, and the pixel
// takes the class with the largest share. With two classes a pixel of value >= 1/2 is
// foreground; with more, value x 255 is the class index, and an index >= classes throws
// fedxray::Error naming it.
std::vector<uint8_t> resize_mask(const GrayImage& mask, int classes, int size);

}  // namespace fedxray

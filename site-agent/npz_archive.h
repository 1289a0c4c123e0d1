// Reading NumPy .npz files (a ZIP of .npy arrays, as MedMNIST ships) without Python.
//
// read_zip_members(): every member of a ZIP archive, stored or deflated (zlib), CRC-32 checked.
// ZIP64 and encrypted archives are refused with a clear error. parse_npy(): an NPY v1-v3 array
// with a little-endian or byte-sized dtype in C order. Errors throw fedxray::Error naming the
// file and the member.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace fedxray {

std::map<std::string, std::string> read_zip_members(const std::string& path);

struct NpyArray {
  std::string dtype;             // numpy descr, e.g. "|u1", "<f4", "<i8"
  std::vector<int64_t> shape;
  std::string data;              // raw little-endian elements, C order

  std::size_t elements() const;
  // Element i converted to double (u1, i1, <u2, <i2, <u4, <i4, <u8, <i8, <f4, <f8).
  double at(std::size_t i) const;
};

// `where` names the array in errors ("file.npz:train_images.npy").
NpyArray parse_npy(const std::string& bytes, const std::string& where);

}  // namespace fedxray

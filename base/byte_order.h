// Little-endian integers in byte strings: the one place the project's file and message formats
// (model files, Shamir shares) put and get fixed-width integers. Header-only, torch-free.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace fedxray {

// Appends the low `bytes` bytes of `v`, least significant first.
inline void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(char((v >> (8 * i)) & 0xff));
}
inline void put_le32(std::string& out, uint32_t v) { put_le(out, v, 4); }
inline void put_le64(std::string& out, uint64_t v) { put_le(out, v, 8); }

// The `bytes`-byte little-endian integer at `p`. The caller checks that the bytes exist.
inline uint64_t get_le(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t(p[i]) << (8 * i);
  return v;
}
inline uint64_t get_le(const std::string& in, std::size_t at, int bytes) {
  return get_le(reinterpret_cast<const unsigned char*>(in.data()) + at, bytes);
}

}  // namespace fedxray

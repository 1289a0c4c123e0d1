// Lower-case hexadecimal text of bytes (digests, HMACs, pseudonyms). Header-only, torch-free.
#pragma once

#include <cstddef>
#include <string>

namespace fedxray {

inline std::string to_hex(const void* data, std::size_t size) {
  static const char* kDigits = "0123456789abcdef";
  const auto* p = static_cast<const unsigned char*>(data);
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[p[i] >> 4]);
    out.push_back(kDigits[p[i] & 15]);
  }
  return out;
}

}  // namespace fedxray

#include "site-agent/npz_archive.h"

#include <cstring>

#include <zlib.h>

#include "common/atomic_file.h"
#include "common/error.h"

namespace fedxray {
namespace {

uint32_t u32(const std::string& s, std::size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | uint8_t(s[at + std::size_t(i)]);
  return v;
}
uint16_t u16(const std::string& s, std::size_t at) {
  return uint16_t(uint8_t(s[at]) | (uint8_t(s[at + 1]) << 8));
}

std::string inflate_raw(const std::string& in, std::size_t expected, const std::string& where) {
  std::string out(expected, '\0');
  z_stream z{};
  if (inflateInit2(&z, -MAX_WBITS) != Z_OK) throw Error(where + ": zlib could not start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const std::size_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || produced != expected) {
    throw Error(where + ": the compressed data is corrupt (zlib status " + std::to_string(rc) + ")");
  }
  return out;
}

}  // namespace

std::map<std::string, std::string> read_zip_members(const std::string& path) {
  const std::string zip = read_file(path);
  // The end-of-central-directory record sits in the last 22 + 65535 bytes.
  std::size_t eocd = std::string::npos;
  for (std::size_t i = zip.size() >= 22 ? zip.size() - 22 : 0;; --i) {
    if (u32(zip, i) == 0x06054b50) {
      eocd = i;
      break;
    }
    if (i == 0 || zip.size() - i > 22 + 65535) break;
  }
  if (zip.size() < 22 || eocd == std::string::npos) {
    throw Error(path + ": not a ZIP/.npz archive (no end-of-central-directory record)");
  }
  const uint16_t entries = u16(zip, eocd + 10);
  std::size_t at = u32(zip, eocd + 16);
  std::map<std::string, std::string> members;
  for (uint16_t e = 0; e < entries; ++e) {
    if (at + 46 > zip.size() || u32(zip, at) != 0x02014b50) {
      throw Error(path + ": the ZIP central directory is corrupt");
    }
    const uint16_t flags = u16(zip, at + 8), method = u16(zip, at + 10);
    const uint32_t crc = u32(zip, at + 16), packed = u32(zip, at + 20), size = u32(zip, at + 24);
    const uint16_t name_len = u16(zip, at + 28), extra_len = u16(zip, at + 30),
                   comment_len = u16(zip, at + 32);
    const uint32_t local = u32(zip, at + 42);
    const std::string name = zip.substr(at + 46, name_len);
    const std::string where = path + ":" + name;
    at += 46 + std::size_t(name_len) + extra_len + comment_len;
    if (flags & 1) throw Error(where + ": encrypted ZIP members are not supported");
    if (packed == 0xFFFFFFFFu || size == 0xFFFFFFFFu || local == 0xFFFFFFFFu) {
      throw Error(where + ": ZIP64 archives (members over 4 GiB) are not supported");
    }
    if (std::size_t(local) + 30 > zip.size() || u32(zip, local) != 0x04034b50) {
      throw Error(where + ": the ZIP local header is corrupt");
    }
    const std::size_t data_at = local + 30 + std::size_t(u16(zip, local + 26)) + u16(zip, local + 28);
    if (data_at + packed > zip.size()) throw Error(where + ": the archive is truncated");
    std::string raw = zip.substr(data_at, packed);
    std::string bytes;
    if (method == 0) {
      bytes = std::move(raw);
    } else if (method == 8) {
      bytes = inflate_raw(raw, size, where);
    } else {
      throw Error(where + ": ZIP compression method " + std::to_string(method) +
                  " is not supported (only stored and deflate)");
    }
    const uint32_t actual = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(bytes.data()), uInt(bytes.size())));
    if (actual != crc) throw Error(where + ": CRC-32 mismatch; the archive is corrupt");
    members[name] = std::move(bytes);
  }
  return members;
}

std::size_t NpyArray::elements() const {
  std::size_t n = 1;
  for (int64_t d : shape) n *= std::size_t(d);
  return n;
}

double NpyArray::at(std::size_t i) const {
  const char kind = dtype[1];
  const int size = std::stoi(dtype.substr(2));
  const char* p = data.data() + i * std::size_t(size);
  auto load = [p](auto v) {
    std::memcpy(&v, p, sizeof(v));
    return double(v);
  };
  if (kind == 'u' && size == 1) return load(uint8_t());
  if (kind == 'i' && size == 1) return load(int8_t());
  if (kind == 'u' && size == 2) return load(uint16_t());
  if (kind == 'i' && size == 2) return load(int16_t());
  if (kind == 'u' && size == 4) return load(uint32_t());
  if (kind == 'i' && size == 4) return load(int32_t());
  if (kind == 'u' && size == 8) return load(uint64_t());
  if (kind == 'i' && size == 8) return load(int64_t());
  if (kind == 'f' && size == 4) return load(float());
  if (kind == 'f' && size == 8) return load(double());
  return 0;
}

NpyArray parse_npy(const std::string& bytes, const std::string& where) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0) {
    throw Error(where + ": not a NumPy .npy array");
  }
  const int major = uint8_t(bytes[6]);
  std::size_t header_len = 0, start = 0;
  if (major == 1) {
    header_len = u16(bytes, 8);
    start = 10;
  } else if (major == 2 || major == 3) {
    header_len = u32(bytes, 8);
    start = 12;
  } else {
    throw Error(where + ": unsupported .npy version " + std::to_string(major));
  }
  if (start + header_len > bytes.size()) throw Error(where + ": truncated .npy header");
  const std::string header = bytes.substr(start, header_len);
  auto value_of = [&](const std::string& key) {
    const std::size_t k = header.find("'" + key + "'");
    if (k == std::string::npos) throw Error(where + ": .npy header has no '" + key + "'");
    std::size_t v = header.find(':', k) + 1;
    while (v < header.size() && header[v] == ' ') ++v;
    return v;
  };
  NpyArray a;
  std::size_t d = value_of("descr");
  const std::size_t quote_end = header.find('\'', d + 1);
  a.dtype = header.substr(d + 1, quote_end - d - 1);
  const std::size_t f = value_of("fortran_order");
  if (header.compare(f, 4, "True") == 0) {
    throw Error(where + ": Fortran-order arrays are not supported; save with np.ascontiguousarray");
  }
  std::size_t s = value_of("shape");
  const std::size_t close = header.find(')', s);
  std::string dims = header.substr(s + 1, close - s - 1);
  for (std::size_t pos = 0; pos < dims.size();) {
    std::size_t comma = dims.find(',', pos);
    if (comma == std::string::npos) comma = dims.size();
    const std::string part = dims.substr(pos, comma - pos);
    if (part.find_first_of("0123456789") != std::string::npos) a.shape.push_back(std::stoll(part));
    pos = comma + 1;
  }
  const bool little_or_byte = a.dtype.size() >= 3 && (a.dtype[0] == '<' || a.dtype[0] == '|');
  const std::string kinds = "uif";
  if (!little_or_byte || kinds.find(a.dtype[1]) == std::string::npos) {
    throw Error(where + ": dtype '" + a.dtype + "' is not supported (little-endian int, uint or float)");
  }
  const std::size_t item = std::size_t(std::stoi(a.dtype.substr(2)));
  a.data = bytes.substr(start + header_len);
  if (a.data.size() != a.elements() * item) {
    throw Error(where + ": holds " + std::to_string(a.data.size()) + " bytes of data but its shape "
                "needs " + std::to_string(a.elements() * item));
  }
  return a;
}

}  // namespace fedxray

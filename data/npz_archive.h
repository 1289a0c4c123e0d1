// Reading NumPy .npz files (a ZIP of .npy arrays, as MedMNIST ships) without Python.
//
// NpzArchive opens the ZIP once (libzip: stored or deflated members, ZIP64, CRC-32 checked) and
// reads one member at a time, only when asked. Encrypted archives and members are refused.
// Every size an archive declares is checked before memory is allocated for it: a member may
// declare at most kMaxNpzMemberBytes and no more compressed bytes than the whole file, a stored
// member's two sizes must agree, a deflated one may not claim more than deflate can expand to,
// and an .npy member's shape x itemsize must equal the data it really holds. A file that lies
// about a size is an Error, never a huge allocation.
//
// parse_npy() / read_npy(): an NPY v1-v3 array with a little-endian or byte-sized int, uint or
// float dtype in C order; the header must be the dict numpy writes ('descr', 'fortran_order',
// 'shape'), dims non-negative integers whose product x itemsize fits the data exactly.
//
// Errors throw fedxray::Error "<file>:<member>: <what is wrong>" (or "<file>: ..." for the archive
// as a whole) with what would fix it. An NpzArchive is not thread-safe; it owns the open archive.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct zip;

namespace fedxray {

// Largest uncompressed member accepted (8 GiB): several times MedMNIST+'s largest 224 px split.
constexpr uint64_t kMaxNpzMemberBytes = uint64_t(8) << 30;

struct NpyArray {
  std::string dtype;             // numpy descr, e.g. "|u1", "<f4", "<i8"
  std::vector<int64_t> shape;    // each dim >= 0; () is a scalar
  std::string data;              // raw little-endian elements, C order; exactly elements() x item

  // Product of the dims (1 for a scalar); parse_npy/read_npy guarantee it does not overflow.
  std::size_t elements() const;
  // Bytes per element (1, 2, 4 or 8).
  std::size_t item_size() const;
  // Element i converted to double (u1, i1, <u2, <i2, <u4, <i4, <u8, <i8, <f4, <f8).
  double at(std::size_t i) const;
};

class NpzArchive {
 public:
  // Opens `path`; throws when it is missing, not a ZIP archive, or its directory is corrupt.
  explicit NpzArchive(const std::string& path);
  ~NpzArchive();
  NpzArchive(const NpzArchive&) = delete;
  NpzArchive& operator=(const NpzArchive&) = delete;

  const std::string& path() const { return path_; }
  // The members' names exactly as has() and read() take them. They come from the file: escape
  // them before printing (errors thrown here already do).
  std::vector<std::string> member_names() const;
  bool has(const std::string& member) const;

  // The member's bytes, CRC-checked. Throws for a missing member and for every size lie above.
  std::string read(const std::string& member) const;
  // The member parsed as .npy; its data is allocated only once the header is known to match
  // the member's size.
  NpyArray read_npy(const std::string& member) const;
  // Only the .npy header (dtype, shape; data left empty): reads the member's first bytes.
  NpyArray read_npy_header(const std::string& member) const;

 private:
  std::string path_;
  uint64_t bytes_ = 0;  // the archive file's size: no member can be larger compressed
  struct zip* zip_ = nullptr;
};

// An .npy array already in memory; `where` names it in errors ("file.npz:train_images.npy").
NpyArray parse_npy(const std::string& bytes, const std::string& where);

}  // namespace fedxray

#include "data/npz_archive.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <new>

#include <zip.h>

#include "base/error.h"

namespace fedxray {
namespace {

// Deflate cannot expand data by more than about 1032:1; allow some slack for tiny members.
constexpr uint64_t kMaxDeflateRatio = 1040;
constexpr uint64_t kDeflateSlack = 64 * 1024;
// numpy writes headers of a few hundred bytes; v2/v3 allow 4 GiB, which no real array needs.
constexpr uint64_t kMaxNpyHeaderBytes = 1 << 20;
constexpr std::size_t kNpyPreambleV1 = 10, kNpyPreambleV2 = 12;

// Names and header text come from the file: keep control and non-ASCII bytes out of messages.
std::string printable(const std::string& s, std::size_t limit = 200) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? char(c) : '?');
  }
  if (s.size() > limit) out += "...";
  return out;
}

std::string libzip_message(int code) {
  zip_error_t e;
  zip_error_init_with_code(&e, code);
  std::string text = zip_error_strerror(&e);
  zip_error_fini(&e);
  return text;
}

std::string with_commas(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

// The bytes before an .npy header: magic, version and header length.
struct NpyPreamble {
  std::size_t size = 0;       // 10 (v1) or 12 (v2, v3)
  uint64_t header_len = 0;
};

NpyPreamble parse_preamble(const char* p, std::size_t available, const std::string& where) {
  if (available < kNpyPreambleV1 || std::memcmp(p, "\x93NUMPY", 6) != 0) {
    throw Error(where + ": not a NumPy .npy array (no \\x93NUMPY magic); the .npz archive is "
                "corrupt or was not written by numpy.savez");
  }
  const auto byte = [p](std::size_t i) { return uint64_t(static_cast<unsigned char>(p[i])); };
  const int major = int(byte(6));
  NpyPreamble pre;
  if (major == 1) {
    pre.size = kNpyPreambleV1;
    pre.header_len = byte(8) | byte(9) << 8;
  } else if (major == 2 || major == 3) {
    if (available < kNpyPreambleV2) throw Error(where + ": the .npy preamble is truncated");
    pre.size = kNpyPreambleV2;
    pre.header_len = byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
  } else {
    throw Error(where + ": unsupported .npy format version " + std::to_string(major) +
                " (1, 2 and 3 are supported); re-save the array with numpy.save");
  }
  if (pre.header_len > kMaxNpyHeaderBytes) {
    throw Error(where + ": the .npy header length " + with_commas(pre.header_len) +
                " is absurd (numpy writes a few hundred bytes); the file is corrupt");
  }
  return pre;
}

// The header is the Python dict literal numpy writes, e.g.
// {'descr': '|u1', 'fortran_order': False, 'shape': (4708, 28, 28), }
class NpyHeaderParser {
 public:
  NpyHeaderParser(const std::string& text, const std::string& where) : h_(text), where_(where) {}

  NpyArray parse() {
    NpyArray a;
    bool have_descr = false, have_fortran = false, have_shape = false;
    expect('{');
    while (!eat('}')) {
      const std::string key = quoted();
      expect(':');
      if (key == "descr" && !have_descr) {
        a.dtype = quoted();
        have_descr = true;
      } else if (key == "fortran_order" && !have_fortran) {
        if (boolean()) {
          throw Error(where_ + ": Fortran-order arrays are not supported; save with "
                      "np.ascontiguousarray");
        }
        have_fortran = true;
      } else if (key == "shape" && !have_shape) {
        a.shape = shape();
        have_shape = true;
      } else {
        fail("unexpected or repeated key '" + printable(key) + "'");
      }
      if (!eat(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != h_.size()) fail("text after the closing brace");
    if (!have_descr) fail("no 'descr'");
    if (!have_fortran) fail("no 'fortran_order'");
    if (!have_shape) fail("no 'shape'");
    check_dtype(a.dtype);
    return a;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(where_ + ": malformed .npy header (" + what + "): \"" + printable(h_) +
                "\"; the file is corrupt, re-save the array with numpy.save");
  }
  void skip_space() {
    while (pos_ < h_.size() && (h_[pos_] == ' ' || h_[pos_] == '\n' || h_[pos_] == '\t' ||
                                h_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool eat(char c) {
    skip_space();
    if (pos_ < h_.size() && h_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  std::string quoted() {
    skip_space();
    if (pos_ >= h_.size() || (h_[pos_] != '\'' && h_[pos_] != '"')) {
      fail("expected a quoted string");
    }
    const char q = h_[pos_++];
    const std::size_t end = h_.find(q, pos_);
    if (end == std::string::npos) fail("a string never ends");
    std::string s = h_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  bool boolean() {
    skip_space();
    for (const char* word : {"True", "False"}) {
      const std::size_t n = std::strlen(word);
      if (h_.compare(pos_, n, word) == 0) {
        pos_ += n;
        return word[0] == 'T';
      }
    }
    fail("'fortran_order' must be True or False");
  }
  std::vector<int64_t> shape() {
    std::vector<int64_t> dims;
    expect('(');
    while (!eat(')')) {
      skip_space();
      if (pos_ < h_.size() && h_[pos_] == '-') {
        throw Error(where_ + ": the .npy shape has a negative dimension; the file is corrupt");
      }
      uint64_t d = 0;
      std::size_t digits = 0;
      while (pos_ < h_.size() && h_[pos_] >= '0' && h_[pos_] <= '9') {
        if (++digits > 18) break;
        d = d * 10 + uint64_t(h_[pos_++] - '0');
      }
      if (digits == 0) fail("a shape dimension is not a non-negative integer");
      if (digits > 18 || d > kMaxNpzMemberBytes) {
        throw Error(where_ + ": the .npy shape has an absurd dimension (over " +
                    with_commas(kMaxNpzMemberBytes) + "); the file is corrupt");
      }
      if (pos_ < h_.size() && h_[pos_] == 'L') ++pos_;  // Python 2 numpy wrote long ints so
      dims.push_back(int64_t(d));
      if (dims.size() > 32) fail("more than 32 dimensions");
      if (!eat(',')) {
        expect(')');
        break;
      }
    }
    return dims;
  }
  void check_dtype(const std::string& d) const {
    const bool order_ok = d.size() == 3 && (d[0] == '<' || (d[0] == '|' && d[2] == '1'));
    const bool kind_ok = d.size() == 3 && (((d[1] == 'u' || d[1] == 'i') &&
                                            (d[2] == '1' || d[2] == '2' || d[2] == '4' ||
                                             d[2] == '8')) ||
                                           (d[1] == 'f' && (d[2] == '4' || d[2] == '8')));
    if (!order_ok || !kind_ok) {
      throw Error(where_ + ": dtype '" + printable(d) + "' is not supported (little-endian "
                  "int, uint or float: |u1, <u2, <i4, <f4, <f8, ...); convert the array with "
                  "astype before saving");
    }
  }

  const std::string& h_;
  const std::string& where_;
  std::size_t pos_ = 0;
};

// Bytes the array's data must occupy; throws when shape x itemsize overflows or differs from
// what the member really holds.
uint64_t check_data_size(const NpyArray& a, uint64_t data_bytes, const std::string& where) {
  uint64_t need = a.item_size();
  bool overflow = false;
  for (int64_t d : a.shape) overflow = overflow || __builtin_mul_overflow(need, uint64_t(d), &need);
  std::string dims;
  for (int64_t d : a.shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
  if (overflow || need != data_bytes) {
    throw Error(where + ": shape (" + dims + ") of " + a.dtype + " needs " +
                (overflow ? std::string("more than 2^64") : with_commas(need)) +
                " bytes but the member holds " + with_commas(data_bytes) +
                "; the archive is corrupt or truncated");
  }
  return need;
}

std::string allocate(uint64_t bytes, const std::string& where) {
  try {
    return std::string(std::size_t(bytes), '\0');
  } catch (const std::bad_alloc&) {
    throw Error(where + ": needs " + with_commas(bytes) + " bytes of memory, more than this "
                "machine can give; free memory or use a smaller archive");
  }
}

// One member, opened for reading; every declared size is checked before anything is read.
class MemberReader {
 public:
  MemberReader(zip_t* zip, const std::string& path, uint64_t archive_bytes,
               const std::string& member)
      : where_(path + ":" + printable(member)) {
    const zip_int64_t index = zip_name_locate(zip, member.c_str(), 0);
    if (index < 0) throw Error(where_ + ": no such member in the archive");
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(zip, zip_uint64_t(index), 0, &st) != 0) {
      throw Error(where_ + ": cannot read the member's directory entry (" +
                  zip_error_strerror(zip_get_error(zip)) + "); the archive is corrupt");
    }
    const zip_uint64_t need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE | ZIP_STAT_COMP_METHOD |
                              ZIP_STAT_ENCRYPTION_METHOD;
    if ((st.valid & need) != need) throw Error(where_ + ": the member's sizes are unknown");
    if (st.encryption_method != ZIP_EM_NONE) {
      throw Error(where_ + ": the member is encrypted; fedxray reads only unencrypted .npz "
                  "archives (as numpy.savez writes them): re-save it without a password");
    }
    size_ = st.size;
    if (st.comp_size > archive_bytes) {
      throw Error(where_ + ": declares " + with_commas(st.comp_size) + " compressed bytes, more "
                  "than the whole archive (" + with_commas(archive_bytes) + "); the archive is "
                  "corrupt or truncated");
    }
    if (st.size > kMaxNpzMemberBytes) {
      throw Error(where_ + ": declares " + with_commas(st.size) + " bytes uncompressed, over "
                  "the limit of " + with_commas(kMaxNpzMemberBytes) + "; the archive is "
                  "corrupt, or split the data into smaller archives");
    }
    if (st.comp_method == ZIP_CM_STORE) {
      if (st.comp_size != st.size) {
        throw Error(where_ + ": a stored member declares " + with_commas(st.size) + " bytes but " +
                    with_commas(st.comp_size) + " stored; the archive is corrupt");
      }
    } else if (st.comp_method == ZIP_CM_DEFLATE) {
      if (st.size > st.comp_size * kMaxDeflateRatio + kDeflateSlack) {
        throw Error(where_ + ": declares " + with_commas(st.size) + " bytes from only " +
                    with_commas(st.comp_size) + " compressed, more than deflate can produce; "
                    "the archive is corrupt");
      }
    } else {
      throw Error(where_ + ": ZIP compression method " + std::to_string(st.comp_method) +
                  " is not supported (only stored and deflate, as numpy.savez and "
                  "numpy.savez_compressed write)");
    }
    file_ = zip_fopen_index(zip, zip_uint64_t(index), 0);
    if (!file_) {
      throw Error(where_ + ": cannot open the member (" + zip_error_strerror(zip_get_error(zip)) +
                  "); the archive is corrupt or truncated");
    }
  }
  ~MemberReader() { zip_fclose(file_); }
  MemberReader(const MemberReader&) = delete;
  MemberReader& operator=(const MemberReader&) = delete;

  const std::string& where() const { return where_; }
  uint64_t size() const { return size_; }

  // Reads exactly n bytes; a member that ends early is truncated.
  void read_exact(char* out, uint64_t n) {
    uint64_t got = 0;
    while (got < n) {
      const zip_int64_t r = zip_fread(file_, out + got, std::min<uint64_t>(n - got, 1 << 26));
      if (r < 0) fail_read();
      if (r == 0) {
        throw Error(where_ + ": the member ends after " + with_commas(offset_ + got) +
                    " bytes but declares " + with_commas(size_) + "; the archive is truncated "
                    "or corrupt");
      }
      got += uint64_t(r);
    }
    offset_ += got;
  }
  // After the declared size the member must end; reaching the end also checks the CRC-32.
  void expect_end() {
    char extra;
    const zip_int64_t r = zip_fread(file_, &extra, 1);
    if (r < 0) fail_read();
    if (r > 0) {
      throw Error(where_ + ": the member holds more than its declared " + with_commas(size_) +
                  " bytes; the archive is corrupt");
    }
  }

 private:
  [[noreturn]] void fail_read() {
    zip_error_t* e = zip_file_get_error(file_);
    if (zip_error_code_zip(e) == ZIP_ER_CRC) {
      throw Error(where_ + ": CRC-32 mismatch; the archive is corrupt (copy it again)");
    }
    throw Error(where_ + ": cannot read the member (" + zip_error_strerror(e) +
                "); the archive is corrupt or truncated");
  }

  std::string where_;
  zip_file_t* file_ = nullptr;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
};

// Reads the preamble and header of an .npy member and checks its shape against the member size.
NpyArray read_header(MemberReader& in) {
  const uint64_t avail = std::min<uint64_t>(in.size(), kNpyPreambleV2);
  char pre_bytes[kNpyPreambleV2] = {};
  in.read_exact(pre_bytes, std::min<uint64_t>(avail, kNpyPreambleV1));
  if (avail == kNpyPreambleV2 && (pre_bytes[6] == 2 || pre_bytes[6] == 3)) {
    in.read_exact(pre_bytes + kNpyPreambleV1, kNpyPreambleV2 - kNpyPreambleV1);
  }
  const NpyPreamble pre = parse_preamble(pre_bytes, std::size_t(avail), in.where());
  if (pre.size + pre.header_len > in.size()) {
    throw Error(in.where() + ": the .npy header claims " + with_commas(pre.header_len) +
                " bytes but the member holds only " + with_commas(in.size() - pre.size) +
                " after the preamble; the file is corrupt");
  }
  std::string header(std::size_t(pre.header_len), '\0');
  in.read_exact(header.data(), pre.header_len);
  NpyArray a = NpyHeaderParser(header, in.where()).parse();
  check_data_size(a, in.size() - pre.size - pre.header_len, in.where());
  return a;
}

}  // namespace

std::size_t NpyArray::elements() const {
  std::size_t n = 1;
  for (int64_t d : shape) n *= std::size_t(d);
  return n;
}

std::size_t NpyArray::item_size() const {
  return dtype.size() == 3 ? std::size_t(dtype[2] - '0') : 0;
}

double NpyArray::at(std::size_t i) const {
  const char kind = dtype[1];
  const std::size_t size = item_size();
  const char* p = data.data() + i * size;
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
  const NpyPreamble pre = parse_preamble(bytes.data(), bytes.size(), where);
  if (pre.size + pre.header_len > bytes.size()) {
    throw Error(where + ": the .npy header claims " + with_commas(pre.header_len) +
                " bytes but only " + with_commas(bytes.size() - pre.size) +
                " follow the preamble; the file is corrupt");
  }
  NpyArray a = NpyHeaderParser(bytes.substr(pre.size, std::size_t(pre.header_len)), where).parse();
  const std::size_t start = pre.size + std::size_t(pre.header_len);
  check_data_size(a, bytes.size() - start, where);
  a.data = bytes.substr(start);
  return a;
}

NpzArchive::NpzArchive(const std::string& path) : path_(path) {
  std::error_code size_error;
  bytes_ = std::filesystem::file_size(path, size_error);
  int code = 0;
  zip_ = zip_open(path.c_str(), ZIP_RDONLY, &code);
  if (zip_) return;
  const std::string why = libzip_message(code);
  switch (code) {
    case ZIP_ER_NOENT:
    case ZIP_ER_OPEN:
    case ZIP_ER_READ:
      throw Error(path + ": cannot open the .npz archive (" + why + "); check data.file");
    case ZIP_ER_NOZIP:
      throw Error(path + ": not a ZIP/.npz archive (no ZIP directory found); data.file must name "
                  "a NumPy .npz file");
    case ZIP_ER_ENCRNOTSUPP:
    case ZIP_ER_NOPASSWD:
      throw Error(path + ": the archive is encrypted; re-save it without a password");
    default:
      throw Error(path + ": the ZIP/.npz archive is corrupt or truncated (" + why +
                  "); copy it again");
  }
}

NpzArchive::~NpzArchive() {
  if (zip_) zip_discard(zip_);
}

std::vector<std::string> NpzArchive::member_names() const {
  std::vector<std::string> names;
  const zip_int64_t n = zip_get_num_entries(zip_, 0);
  for (zip_int64_t i = 0; i < n; ++i) {
    const char* name = zip_get_name(zip_, zip_uint64_t(i), 0);
    if (name) names.push_back(name);
  }
  return names;
}

bool NpzArchive::has(const std::string& member) const {
  return zip_name_locate(zip_, member.c_str(), 0) >= 0;
}

std::string NpzArchive::read(const std::string& member) const {
  MemberReader in(zip_, path_, bytes_, member);
  std::string bytes = allocate(in.size(), in.where());
  in.read_exact(bytes.data(), in.size());
  in.expect_end();
  return bytes;
}

NpyArray NpzArchive::read_npy(const std::string& member) const {
  MemberReader in(zip_, path_, bytes_, member);
  NpyArray a = read_header(in);
  const uint64_t data_bytes = uint64_t(a.elements()) * a.item_size();
  a.data = allocate(data_bytes, in.where());
  in.read_exact(a.data.data(), data_bytes);
  in.expect_end();
  return a;
}

NpyArray NpzArchive::read_npy_header(const std::string& member) const {
  MemberReader in(zip_, path_, bytes_, member);
  return read_header(in);
}

}  // namespace fedxray

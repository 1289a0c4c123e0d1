// MedMNIST-style .npz archives: stored, deflated and ZIP64 members, NPY parsing, splits, bad
// labels, and hostile archives that lie about sizes.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <optional>

#include <zlib.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "data/npz_archive.h"
#include "data/npz_source.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

void put16(std::string& s, uint16_t v) { s.append({char(v & 0xff), char(v >> 8)}); }
void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

std::string deflate_raw(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(uLong(in.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// What a hostile archive may claim about its first member instead of the truth.
struct ZipLies {
  std::optional<uint32_t> size;    // uncompressed size, in both headers
  std::optional<uint32_t> packed;  // compressed size, in both headers
  uint16_t flags = 0;              // general purpose flags (bit 0: encrypted)
};

// A minimal ZIP writer: enough to build test archives like numpy.savez(_compressed) does.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& files, bool deflated,
                     const ZipLies& lies = {}) {
  std::string zip, directory;
  bool first = true;
  for (const auto& [name, data] : files) {
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
    const std::string packed = deflated ? deflate_raw(data) : data;
    const uint32_t offset = uint32_t(zip.size());
    const uint16_t flags = first ? lies.flags : 0;
    const uint32_t packed_size = first && lies.packed ? *lies.packed : uint32_t(packed.size());
    const uint32_t size = first && lies.size ? *lies.size : uint32_t(data.size());
    first = false;
    put32(zip, 0x04034b50);
    put16(zip, 20); put16(zip, flags); put16(zip, deflated ? 8 : 0); put16(zip, 0); put16(zip, 0);
    put32(zip, crc); put32(zip, packed_size); put32(zip, size);
    put16(zip, uint16_t(name.size())); put16(zip, 0);
    zip += name + packed;
    put32(directory, 0x02014b50);
    put16(directory, 20); put16(directory, 20); put16(directory, flags);
    put16(directory, deflated ? 8 : 0); put16(directory, 0); put16(directory, 0);
    put32(directory, crc); put32(directory, packed_size); put32(directory, size);
    put16(directory, uint16_t(name.size())); put16(directory, 0); put16(directory, 0);
    put16(directory, 0); put16(directory, 0); put32(directory, 0); put32(directory, offset);
    directory += name;
  }
  const uint32_t dir_offset = uint32_t(zip.size());
  zip += directory;
  put32(zip, 0x06054b50);
  put16(zip, 0); put16(zip, 0); put16(zip, uint16_t(files.size())); put16(zip, uint16_t(files.size()));
  put32(zip, uint32_t(directory.size())); put32(zip, dir_offset); put16(zip, 0);
  return zip;
}

void put64(std::string& s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}

// The same archive in ZIP64 form throughout (as Python's zipfile writes with force_zip64): every
// size and offset is 0xFFFFFFFF in the classic fields and real in the ZIP64 extra fields, and
// the directory is found through the ZIP64 end records.
std::string make_zip64(const std::vector<std::pair<std::string, std::string>>& files) {
  std::string zip, directory;
  for (const auto& [name, data] : files) {
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
    const uint64_t offset = zip.size();
    put32(zip, 0x04034b50);
    put16(zip, 45); put16(zip, 0); put16(zip, 0); put16(zip, 0); put16(zip, 0);
    put32(zip, crc); put32(zip, 0xFFFFFFFF); put32(zip, 0xFFFFFFFF);
    put16(zip, uint16_t(name.size())); put16(zip, 20);
    zip += name;
    put16(zip, 1); put16(zip, 16); put64(zip, data.size()); put64(zip, data.size());
    zip += data;
    put32(directory, 0x02014b50);
    put16(directory, 45); put16(directory, 45); put16(directory, 0);
    put16(directory, 0); put16(directory, 0); put16(directory, 0);
    put32(directory, crc); put32(directory, 0xFFFFFFFF); put32(directory, 0xFFFFFFFF);
    put16(directory, uint16_t(name.size())); put16(directory, 28); put16(directory, 0);
    put16(directory, 0); put16(directory, 0); put32(directory, 0); put32(directory, 0xFFFFFFFF);
    directory += name;
    put16(directory, 1); put16(directory, 24);
    put64(directory, data.size()); put64(directory, data.size()); put64(directory, offset);
  }
  const uint64_t dir_offset = zip.size();
  zip += directory;
  const uint64_t eocd64_offset = zip.size();
  put32(zip, 0x06064b50); put64(zip, 44); put16(zip, 45); put16(zip, 45); put32(zip, 0);
  put32(zip, 0); put64(zip, files.size()); put64(zip, files.size());
  put64(zip, directory.size()); put64(zip, dir_offset);
  put32(zip, 0x07064b50); put32(zip, 0); put64(zip, eocd64_offset); put32(zip, 1);
  put32(zip, 0x06054b50);
  put16(zip, 0); put16(zip, 0); put16(zip, 0xFFFF); put16(zip, 0xFFFF);
  put32(zip, 0xFFFFFFFF); put32(zip, 0xFFFFFFFF); put16(zip, 0);
  return zip;
}

// An .npy v1 member with any header text (padded as numpy pads it) followed by `data`.
std::string npy_with_header(std::string header, const std::string& data) {
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  put16(out, uint16_t(header.size()));
  return out + header + data;
}

std::string npy_u1(const std::vector<int64_t>& shape, const std::vector<uint8_t>& values) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  return npy_with_header("{'descr': '|u1', 'fortran_order': False, 'shape': (" + dims + "), }",
                         std::string(values.begin(), values.end()));
}

// Four 2x2 training images (values 0, 85, 170, 255) and two test images.
std::vector<std::pair<std::string, std::string>> medmnist_members(uint8_t bad_label = 1) {
  return {{"train_images.npy", npy_u1({4, 2, 2}, {0, 0, 0, 0, 85, 85, 85, 85, 170, 170, 170, 170,
                                                   255, 255, 255, 255})},
          {"train_labels.npy", npy_u1({4, 1}, {0, 1, 0, bad_label})},
          {"test_images.npy", npy_u1({2, 2, 2}, {10, 10, 10, 10, 20, 20, 20, 20})},
          {"test_labels.npy", npy_u1({2, 1}, {1, 0})}};
}

DataSourceConfig npz_config(const std::string& file) {
  DataSourceConfig c;
  c.source = "npz";
  c.file = file;
  return c;
}

const std::string kShared = fedxray::testing::shared_data_dir();

}  // namespace

TEST_CASE("stored and deflated .npz members read back identically", "[npz]") {
  testing::TempDir dir;
  for (bool deflated : {false, true}) {
    write_file_atomically(dir.path + "/a.npz", make_zip(medmnist_members(), deflated));
    NpzArchive archive(dir.path + "/a.npz");
    REQUIRE(archive.member_names().size() == 4);
    CHECK(archive.read("train_labels.npy") == medmnist_members()[1].second);
    NpyArray images = archive.read_npy("train_images.npy");
    CHECK(images.shape == std::vector<int64_t>{4, 2, 2});
    CHECK(images.dtype == "|u1");
    CHECK(images.at(4) == 85);
    CHECK(images.at(15) == 255);
    NpyArray header = archive.read_npy_header("test_images.npy");
    CHECK(header.shape == std::vector<int64_t>{2, 2, 2});
    CHECK(header.data.empty());
  }
}

TEST_CASE("a ZIP64 .npz archive reads like any other", "[npz]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/a.npz", make_zip64(medmnist_members()));
  NpzArchive archive(dir.path + "/a.npz");
  CHECK(archive.read_npy("train_images.npy").at(15) == 255);
  NpzSource source(npz_config(dir.path + "/a.npz"));
  CHECK(source.size() == 6);
  CHECK(source.load(2, 2).train.count() == 4);
}

TEST_CASE("an npz source keeps the archive's splits and resizes once", "[npz]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/a.npz", make_zip(medmnist_members(), true));
  NpzSource source(npz_config(dir.path + "/a.npz"));
  CHECK(source.size() == 6);
  TrainHeldOut data = source.load(2, 4);
  CHECK(data.train.count() == 4);
  CHECK(data.held_out.count() == 2);
  CHECK(data.train.image_size == 4);
  CHECK(data.train.image(1)[5] == Approx(85.0 / 255.0));
  CHECK(data.held_out.labels == std::vector<int64_t>{1, 0});
}

TEST_CASE("npz labels outside the job's classes are skipped and reported", "[npz]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/a.npz", make_zip(medmnist_members(/*bad_label=*/5), false));
  NpzSource source(npz_config(dir.path + "/a.npz"));
  TrainHeldOut data = source.load(2, 2);
  CHECK(data.train.count() == 3);
  REQUIRE(source.skipped().size() == 1);
  CHECK(source.skipped()[0].find("train_labels.npy[3]: label 5") != std::string::npos);
}

TEST_CASE("corrupt archives and missing members are refused with the file named", "[npz]") {
  testing::TempDir dir;
  std::string zip = make_zip(medmnist_members(), false);
  zip[60] ^= 0x10;  // inside the first member's data
  write_file_atomically(dir.path + "/bad.npz", zip);
  CHECK_THROWS_WITH(NpzArchive(dir.path + "/bad.npz").read("train_images.npy"),
                    Catch::Contains("bad.npz:train_images.npy: CRC-32 mismatch"));
  write_file_atomically(dir.path + "/text.npz", "not a zip at all, just some words here.....");
  CHECK_THROWS_WITH(NpzArchive(dir.path + "/text.npz"), Catch::Contains("not a ZIP"));
  write_file_atomically(dir.path + "/a.npz", make_zip(medmnist_members(), false));
  DataSourceConfig config = npz_config(dir.path + "/a.npz");
  config.held_out_split = "val";
  CHECK_THROWS_WITH(NpzSource(config), Catch::Contains("no member 'val_labels.npy'") &&
                                           Catch::Contains("the archive has: test_images.npy"));
}

namespace {

// An archive whose train_images.npy member is `images`; the other members are sound.
std::string archive_with_images(const std::string& images, bool deflated = false,
                                const ZipLies& lies = {}) {
  auto members = medmnist_members();
  members[0].second = images;
  return make_zip(members, deflated, lies);
}

// The message of the fedxray::Error that `f` throws; any other exception fails the test.
template <typename F>
std::string error_from(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no fedxray::Error thrown)";
}

// Each hostile archive must be refused with an Error that names the file and the member, before
// anything near its declared size is allocated.
void check_refused(const std::string& path, const std::string& bytes, const std::string& why) {
  write_file_atomically(path, bytes);
  INFO(why);
  const std::string file_and_member = path + ":train_images.npy: ";
  CHECK_THAT(error_from([&] { NpzArchive(path).read_npy("train_images.npy"); }),
             Catch::Contains(file_and_member) && Catch::Contains(why));
  CHECK_THAT(error_from([&] { NpzSource(npz_config(path)).load(2, 2); }),
             Catch::Contains(file_and_member) && Catch::Contains(why));
}

std::string header_with(const std::string& descr, const std::string& fortran,
                        const std::string& shape) {
  return "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
}

}  // namespace

TEST_CASE("hostile .npy headers are refused naming file and member, never allocated", "[npz]") {
  testing::TempDir dir;
  const std::string path = dir.path + "/hostile.npz";
  const std::string data(16, '\x07');
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("|u1", "False", "(1000000000, 1000000, 1000)"), data)),
                "needs 1,000,000,000,000,000,000 bytes but the member holds 16");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("<f8", "False", "(4294967296, 4294967296, 4294967296)"), data)),
                "more than 2^64");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("|u1", "False", "(99999999999999999999, 1)"), data)),
                "absurd dimension");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("|u1", "False", "(-4, 2, 2)"), data)),
                "negative dimension");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("|u1", "False", "(4, 2, 3)"), data)),
                "needs 24 bytes but the member holds 16");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with(">f4", "False", "(4, 2, 2)"), data)),
                "dtype '>f4' is not supported");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("<c8", "False", "(4, 2, 2)"), data)),
                "dtype '<c8' is not supported");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("|u1", "True", "(4, 2, 2)"), data)),
                "Fortran-order");
  check_refused(path, archive_with_images(npy_with_header(
                    header_with("|u1", "Maybe", "(4, 2, 2)"), data)),
                "must be True or False");
  check_refused(path,
                archive_with_images(npy_with_header("{'descr': '|u1', 'fortran_order': False}", data)),
                "no 'shape'");
  check_refused(path, archive_with_images(npy_with_header("{'descr': '|u1', 'shape': (4,", data)),
                "malformed .npy header");
  // A v1 header length of 65535 in a member a few hundred bytes long.
  std::string long_header = npy_u1({4, 2, 2}, std::vector<uint8_t>(16, 1));
  long_header[8] = '\xff';
  long_header[9] = '\xff';
  check_refused(path, archive_with_images(long_header), "the .npy header claims 65,535 bytes");
  // A v2 header length of 4 GiB.
  std::string v2 = npy_u1({4, 2, 2}, std::vector<uint8_t>(16, 1));
  v2[6] = '\x02';
  v2.insert(10, std::string("\xff\xff", 2));
  v2[8] = '\xff';
  v2[9] = '\xff';
  check_refused(path, archive_with_images(v2), "header length 4,294,967,295 is absurd");
  check_refused(path, archive_with_images("\x93NUMP"), "not a NumPy .npy array");
  // The same checks apply to an array already in memory.
  CHECK_THROWS_WITH(parse_npy(npy_with_header(header_with("|u1", "False", "(-1,)"), data), "x.npy"),
                    Catch::Contains("x.npy: the .npy shape has a negative dimension"));
}

TEST_CASE("ZIP members that lie about their sizes are refused naming file and member", "[npz]") {
  testing::TempDir dir;
  const std::string path = dir.path + "/lies.npz";
  const std::string images = npy_u1({4, 2, 2}, std::vector<uint8_t>(16, 1));
  ZipLies huge;
  huge.size = 0xFFFFFFF0u;  // ~4 GiB from a few dozen compressed bytes
  check_refused(path, archive_with_images(images, true, huge), "more than deflate can produce");
  ZipLies beyond;
  beyond.packed = 0x7FFFFFFFu;
  check_refused(path, archive_with_images(images, true, beyond), "more than the whole archive");
  ZipLies stored;
  stored.size = 0x7FFFFFFFu;
  check_refused(path, archive_with_images(images, false, stored), "a stored member declares");
  // The ZIP says a few bytes more than the .npy data holds: the shape check catches it first.
  ZipLies longer;
  longer.size = uint32_t(images.size() + 100);
  check_refused(path, archive_with_images(images, true, longer), "but the member holds 116");
  // A member that really is shorter than both its headers say.
  std::string truncated = images;
  truncated.resize(truncated.size() - 6);
  ZipLies claims_full;
  claims_full.size = uint32_t(images.size());
  check_refused(path, archive_with_images(truncated, true, claims_full),
                "declares " + std::to_string(images.size()));
  ZipLies encrypted;
  encrypted.flags = 1;
  check_refused(path, archive_with_images(images, false, encrypted), "the member is encrypted");
}

TEST_CASE("member names are listed as stored and escaped only in messages", "[npz]") {
  testing::TempDir dir;
  auto members = medmnist_members();
  members[0].first = "train_images.n\x7fy";  // one byte off: a DEL in the name
  write_file_atomically(dir.path + "/odd.npz", make_zip(members, false));
  NpzArchive archive(dir.path + "/odd.npz");
  const std::vector<std::string> names = archive.member_names();
  REQUIRE(names.size() == 4);
  CHECK(names[0] == "train_images.n\x7fy");
  CHECK(archive.has(names[0]));
  CHECK(archive.read_npy(names[0]).shape == std::vector<int64_t>{4, 2, 2});
  CHECK_THROWS_WITH(NpzSource(npz_config(dir.path + "/odd.npz")).load(2, 2),
                    Catch::Contains("no member 'train_images.npy'") &&
                        Catch::Contains("the archive has: test_images.npy, test_labels.npy, "
                                        "train_images.n?y, train_labels.npy"));
}

TEST_CASE("truncated archives and impossible image shapes are refused", "[npz]") {
  testing::TempDir dir;
  std::string zip = make_zip(medmnist_members(), true);
  write_file_atomically(dir.path + "/cut.npz", zip.substr(0, zip.size() / 2));
  CHECK_THAT(error_from([&] { NpzSource(npz_config(dir.path + "/cut.npz")); }),
             Catch::Contains(dir.path + "/cut.npz: "));
  // No images but an absurd frame size: refused, not a 40 GB frame buffer.
  auto members = medmnist_members();
  members[0].second = npy_u1({0, 100000, 100000}, {});
  members[1].second = npy_u1({0}, {});
  write_file_atomically(dir.path + "/wide.npz", make_zip(members, false));
  CHECK_THROWS_WITH(NpzSource(npz_config(dir.path + "/wide.npz")).load(2, 2),
                    Catch::Contains("wide.npz:train_images.npy: shape (N, H, W[, C]) needs H"));
  // Labels that are not numbers are skipped, not undefined behaviour.
  members = medmnist_members();
  std::string nan_label = npy_with_header(header_with("<f8", "False", "(4,)"), std::string());
  for (double v : {0.0, std::nan(""), 1.0, 1e300}) {
    nan_label.append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  members[1].second = nan_label;
  write_file_atomically(dir.path + "/nan.npz", make_zip(members, false));
  NpzSource source(npz_config(dir.path + "/nan.npz"));
  CHECK(source.load(2, 2).train.count() == 2);
  CHECK(source.skipped().size() == 2);
}

TEST_CASE("both real PneumoniaMNIST archives load (stored and deflated)", "[npz][real-data]") {
  const std::string stored = kShared + "/pneumoniamnist/aksufatih-balanced/pneumoniamnist.npz";
  const std::string deflated = kShared + "/pneumoniamnist/varun19424-kaggle/pneumoniamnist.npz";
  if (!fs::exists(stored) || !fs::exists(deflated)) {
    FEDXRAY_SKIP("PneumoniaMNIST files are absent from ../shared/data");
  }
  NpzSource a(npz_config(stored));
  TrainHeldOut da = a.load(2, 28);
  CHECK(da.train.count() == 2428);
  CHECK(da.held_out.count() == 468);
  NpzSource b(npz_config(deflated));
  TrainHeldOut db = b.load(2, 32);
  CHECK(db.train.count() == 3882);
  CHECK(db.held_out.count() == 624);
  CHECK(a.skipped().empty());
  double mean = 0;
  for (float v : db.train.pixels) mean += v;
  mean /= double(db.train.pixels.size());
  CHECK(mean > 0.2);
  CHECK(mean < 0.8);
}

// MedMNIST-style .npz archives: stored and deflated members, NPY parsing, splits, bad labels.
#include <catch2/catch.hpp>

#include <filesystem>

#include <zlib.h>

#include "common/atomic_file.h"
#include "common/error.h"
#include "site-agent/npz_archive.h"
#include "site-agent/npz_source.h"
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

// A minimal ZIP writer: enough to build test archives like numpy.savez(_compressed) does.
std::string make_zip(const std::vector<std::pair<std::string, std::string>>& files, bool deflated) {
  std::string zip, directory;
  for (const auto& [name, data] : files) {
    const uint32_t crc = uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(data.data()), uInt(data.size())));
    const std::string packed = deflated ? deflate_raw(data) : data;
    const uint32_t offset = uint32_t(zip.size());
    put32(zip, 0x04034b50);
    put16(zip, 20); put16(zip, 0); put16(zip, deflated ? 8 : 0); put16(zip, 0); put16(zip, 0);
    put32(zip, crc); put32(zip, uint32_t(packed.size())); put32(zip, uint32_t(data.size()));
    put16(zip, uint16_t(name.size())); put16(zip, 0);
    zip += name + packed;
    put32(directory, 0x02014b50);
    put16(directory, 20); put16(directory, 20); put16(directory, 0);
    put16(directory, deflated ? 8 : 0); put16(directory, 0); put16(directory, 0);
    put32(directory, crc); put32(directory, uint32_t(packed.size())); put32(directory, uint32_t(data.size()));
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

std::string npy_u1(const std::vector<int64_t>& shape, const std::vector<uint8_t>& values) {
  std::string dims;
  for (int64_t d : shape) dims += std::to_string(d) + ", ";
  std::string header = "{'descr': '|u1', 'fortran_order': False, 'shape': (" + dims + "), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string out = "\x93NUMPY";
  out += '\x01';
  out += '\x00';
  put16(out, uint16_t(header.size()));
  return out + header + std::string(values.begin(), values.end());
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

const std::string kShared = FEDXRAY_SOURCE_DIR "/../shared/data";

}  // namespace

TEST_CASE("stored and deflated .npz members read back identically", "[npz]") {
  testing::TempDir dir;
  for (bool deflated : {false, true}) {
    write_file_atomically(dir.path + "/a.npz", make_zip(medmnist_members(), deflated));
    auto members = read_zip_members(dir.path + "/a.npz");
    REQUIRE(members.size() == 4);
    NpyArray images = parse_npy(members["train_images.npy"], "train_images.npy");
    CHECK(images.shape == std::vector<int64_t>{4, 2, 2});
    CHECK(images.dtype == "|u1");
    CHECK(images.at(4) == 85);
    CHECK(images.at(15) == 255);
  }
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
  CHECK_THROWS_WITH(read_zip_members(dir.path + "/bad.npz"), Catch::Contains("CRC-32 mismatch"));
  write_file_atomically(dir.path + "/text.npz", "not a zip at all, just some words here.....");
  CHECK_THROWS_WITH(read_zip_members(dir.path + "/text.npz"), Catch::Contains("not a ZIP"));
  write_file_atomically(dir.path + "/a.npz", make_zip(medmnist_members(), false));
  DataSourceConfig config = npz_config(dir.path + "/a.npz");
  config.held_out_split = "val";
  CHECK_THROWS_WITH(NpzSource(config), Catch::Contains("no member 'val_labels.npy'") &&
                                           Catch::Contains("the archive has: test_images.npy"));
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

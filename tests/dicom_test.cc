// DICOM radiographs through DCMTK: depth, MONOCHROME1, lossy JPEG, undecodable syntaxes.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>

#include "base/atomic_file.h"
#include "config/site_config.h"
#include "data/dicom_file.h"
#include "data/jpeg2000_codestream.h"
#include "data/image_folder_source.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

const std::string kDicom = fedxray::testing::shared_data_dir() + "/dicom-cr-samples";

// A 3x1 12-bit CR image with the given photometric interpretation and rescale.
void write_dicom(const std::string& path, const char* photometric, const std::vector<Uint16>& pixels,
                 const char* slope = "1", const char* intercept = "0", bool is_signed = false,
                 E_TransferSyntax syntax = EXS_LittleEndianExplicit, bool with_meta = true) {
  DcmFileFormat file;
  DcmDataset* d = file.getDataset();
  char uid[100];
  d->putAndInsertString(DCM_SOPClassUID, UID_ComputedRadiographyImageStorage);
  d->putAndInsertString(DCM_SOPInstanceUID, dcmGenerateUniqueIdentifier(uid, SITE_INSTANCE_UID_ROOT));
  d->putAndInsertString(DCM_Modality, "CR");
  d->putAndInsertUint16(DCM_Rows, 1);
  d->putAndInsertUint16(DCM_Columns, Uint16(pixels.size()));
  d->putAndInsertUint16(DCM_SamplesPerPixel, 1);
  d->putAndInsertString(DCM_PhotometricInterpretation, photometric);
  d->putAndInsertUint16(DCM_BitsAllocated, 16);
  d->putAndInsertUint16(DCM_BitsStored, 12);
  d->putAndInsertUint16(DCM_HighBit, 11);
  d->putAndInsertUint16(DCM_PixelRepresentation, is_signed ? 1 : 0);
  d->putAndInsertString(DCM_RescaleSlope, slope);
  d->putAndInsertString(DCM_RescaleIntercept, intercept);
  d->putAndInsertUint16Array(DCM_PixelData, pixels.data(), unsigned(pixels.size()));
  if (with_meta) {
    REQUIRE(file.saveFile(path.c_str(), syntax).good());
  } else {
    REQUIRE(d->saveFile(path.c_str(), syntax).good());  // a bare data set: no preamble, no meta
  }
}

bool have_gdcmconv() { return std::system("command -v gdcmconv >/dev/null 2>&1") == 0; }

// Re-encodes `in` with Debian's gdcmconv (libgdcm-tools), e.g. "--j2k" or "--jpegls".
void gdcmconv(const std::string& options, const std::string& in, const std::string& out) {
  const std::string command = "gdcmconv --quiet " + options + " '" + in + "' '" + out + "' 2>/dev/null";
  REQUIRE(std::system(command.c_str()) == 0);
}

std::string transfer_syntax_of(const std::string& path) {
  DcmFileFormat file;
  REQUIRE(file.loadFile(path.c_str()).good());
  return DcmXfer(file.getDataset()->getOriginalXfer()).getXferID();
}

// A deterministic 40x30 image: a gradient with a bright disc, full 12-bit range (signed: -2048..2047).
std::vector<Uint16> test_pattern(bool is_signed) {
  std::vector<Uint16> pixels;
  for (int y = 0; y < 30; ++y) {
    for (int x = 0; x < 40; ++x) {
      int v = (x * 97 + y * 31) % 3000;
      if ((x - 20) * (x - 20) + (y - 15) * (y - 15) < 49) v = 4095;
      if (is_signed) v -= 2048;
      pixels.push_back(Uint16(int16_t(v)));
    }
  }
  return pixels;
}

std::vector<Uint16> widen(const std::vector<Uint16>& row, int times) {
  std::vector<Uint16> out;
  for (int i = 0; i < times; ++i) out.insert(out.end(), row.begin(), row.end());
  return out;
}

}  // namespace

TEST_CASE("12-bit DICOM keeps its depth and MONOCHROME1 is inverted", "[dicom]") {
  testing::TempDir dir;
  write_dicom(dir.path + "/m2.dcm", "MONOCHROME2", {0, 1, 4095}, "2", "-100");
  write_dicom(dir.path + "/m1.dcm", "MONOCHROME1", {0, 1, 4095});
  CHECK(looks_like_dicom(dir.path + "/m2.dcm"));
  GrayImage m2 = decode_image_file(dir.path + "/m2.dcm");
  REQUIRE(m2.width == 3);
  CHECK(m2.pixels[0] == Approx(0.0));
  CHECK(m2.pixels[1] == Approx(1.0 / 4095.0));  // one step of 4096 survives: not squeezed to 8 bits
  CHECK(m2.pixels[2] == Approx(1.0));
  GrayImage m1 = decode_image_file(dir.path + "/m1.dcm");
  CHECK(m1.pixels[0] == Approx(1.0));  // lowest stored value is white in MONOCHROME1
  CHECK(m1.pixels[2] == Approx(0.0));
}

TEST_CASE("real CR files decode: MONOCHROME1, and lossy JPEG close to the original", "[dicom][real-data]") {
  if (!fs::exists(kDicom + "/wg04/RG3_UNC.dcm")) {
    FEDXRAY_SKIP(kDicom << " is absent (real data lives in ../shared/data)");
  }
  for (std::string pair : {"RG2", "RG3"}) {
    INFO(pair);
    GrayImage unc = decode_image_file(kDicom + "/wg04/" + pair + "_UNC.dcm");
    GrayImage jply = decode_image_file(kDicom + "/wg04/" + pair + "_JPLY.dcm");
    REQUIRE(unc.width == jply.width);
    REQUIRE(unc.height == jply.height);
    const std::vector<float> a = resize_square(unc, 64), b = resize_square(jply, 64);
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff += std::fabs(a[i] - b[i]);
    CHECK(diff / double(a.size()) < 0.06);  // same picture, lossy-compressed
  }
  // RG3 is MONOCHROME1: after decoding, the tibia (centre) is brighter than the air beside it.
  GrayImage rg3 = decode_image_file(kDicom + "/wg04/RG3_UNC.dcm");
  const std::vector<float> small = resize_square(rg3, 64);
  auto column_mean = [&](int x) {
    double m = 0;
    for (int y = 16; y < 40; ++y) m += small[std::size_t(y * 64 + x)];
    return m / 24;
  };
  double bone = 0, darkest = 1;
  for (int x = 24; x < 40; ++x) bone = std::max(bone, column_mean(x));
  for (int x = 10; x < 54; ++x) darkest = std::min(darkest, column_mean(x));
  CHECK(bone > darkest + 0.3);
}

TEST_CASE("pixel data that cannot be decoded is a per-file error naming its transfer syntax, the rest loads",
          "[dicom][real-data]") {
  if (!fs::exists(kDicom + "/wg04/RG3_JPLY.dcm")) {
    FEDXRAY_SKIP(kDicom << " is absent (real data lives in ../shared/data)");
  }
  testing::TempDir dir;
  // The same file, relabelled JPEG 2000 (both UIDs are 22 characters long).
  std::string bytes = read_file(kDicom + "/wg04/RG3_JPLY.dcm");
  const std::size_t at = bytes.find("1.2.840.10008.1.2.4.51");
  REQUIRE(at != std::string::npos);
  bytes.replace(at, 22, "1.2.840.10008.1.2.4.91");
  write_file_atomically(dir.path + "/j2k.dcm", bytes);
  fs::copy_file(kDicom + "/wg04/RG2_JPLY.dcm", dir.path + "/rg2.dcm");
  fs::copy_file(kDicom + "/wg04/RG3_JPLY.dcm", dir.path + "/rg3.dcm");
  write_file_atomically(dir.path + "/labels.csv", "filename,label\nrg2.dcm,0\nj2k.dcm,1\nrg3.dcm,1\n");
  DataSourceConfig config;
  config.source = "image_folder";
  config.manifest = dir.path + "/labels.csv";
  config.held_out_fraction = 0.5;
  ImageFolderSource source(config);
  TrainHeldOut data = source.load(2, 32);
  CHECK(data.train.count() + data.held_out.count() == 2);
  REQUIRE(source.skipped().size() == 1);
  // A JPEG stream relabelled JPEG 2000 is not a JPEG 2000 codestream.
  CHECK(source.skipped()[0].find("labels.csv:3: j2k.dcm: cannot decode its pixel data") != std::string::npos);
  CHECK(source.skipped()[0].find("JPEG 2000") != std::string::npos);
  CHECK(source.skipped()[0].find("FF4F") != std::string::npos);
}

TEST_CASE("lossless JPEG 2000 and JPEG-LS decode pixel-identical to the uncompressed original, signed too",
          "[dicom]") {
  if (!have_gdcmconv()) FEDXRAY_SKIP("gdcmconv (Debian libgdcm-tools, installed by scripts/setup.sh) is missing");
  testing::TempDir dir;
  for (bool is_signed : {false, true}) {
    for (const char* photometric : {"MONOCHROME2", "MONOCHROME1"}) {
      INFO((is_signed ? "signed " : "unsigned ") << photometric);
      const std::string original = dir.path + "/original.dcm";
      // 40x30 and a negative intercept: the modality transform must run after JPEG 2000 too.
      std::vector<Uint16> pixels = test_pattern(is_signed);
      write_dicom(original, photometric, {}, "1", "0", is_signed);
      {
        DcmFileFormat file;
        REQUIRE(file.loadFile(original.c_str()).good());
        DcmDataset* d = file.getDataset();
        d->putAndInsertUint16(DCM_Rows, 30);
        d->putAndInsertUint16(DCM_Columns, 40);
        d->putAndInsertString(DCM_RescaleSlope, "2");
        d->putAndInsertString(DCM_RescaleIntercept, "-1024");
        d->putAndInsertUint16Array(DCM_PixelData, pixels.data(), unsigned(pixels.size()));
        REQUIRE(file.saveFile(original.c_str(), EXS_LittleEndianExplicit).good());
      }
      const GrayImage want = decode_dicom(original);
      REQUIRE(want.width == 40);
      for (auto [option, syntax] : {std::pair<const char*, const char*>{"--j2k", "1.2.840.10008.1.2.4.90"},
                                    {"--jpegls", "1.2.840.10008.1.2.4.80"}}) {
        INFO(option);
        const std::string coded = dir.path + "/coded.dcm";
        gdcmconv(option, original, coded);
        REQUIRE(transfer_syntax_of(coded) == syntax);
        const GrayImage got = decode_image_file(coded);
        REQUIRE(got.width == want.width);
        REQUIRE(got.height == want.height);
        CHECK(got.pixels == want.pixels);
      }
    }
  }
}

TEST_CASE("real CR files re-encoded as JPEG 2000 and JPEG-LS: lossless identical, lossy close",
          "[dicom][real-data]") {
  if (!fs::exists(kDicom + "/wg04/RG3_UNC.dcm")) {
    FEDXRAY_SKIP(kDicom << " is absent (real data lives in ../shared/data)");
  }
  if (!have_gdcmconv()) FEDXRAY_SKIP("gdcmconv (Debian libgdcm-tools, installed by scripts/setup.sh) is missing");
  testing::TempDir dir;
  for (std::string pair : {"RG2", "RG3"}) {  // RG3 is MONOCHROME1
    INFO(pair);
    const std::string original = kDicom + "/wg04/" + pair + "_UNC.dcm";
    const GrayImage want = decode_image_file(original);
    gdcmconv("--j2k", original, dir.path + "/j2k.dcm");
    gdcmconv("--jpegls", original, dir.path + "/jls.dcm");
    gdcmconv("--j2k --lossy -r 40", original, dir.path + "/j2k-lossy.dcm");
    CHECK(transfer_syntax_of(dir.path + "/j2k-lossy.dcm") == "1.2.840.10008.1.2.4.91");
    CHECK(decode_image_file(dir.path + "/j2k.dcm").pixels == want.pixels);
    CHECK(decode_image_file(dir.path + "/jls.dcm").pixels == want.pixels);
    const GrayImage lossy = decode_image_file(dir.path + "/j2k-lossy.dcm");
    REQUIRE(lossy.pixels.size() == want.pixels.size());
    const std::vector<float> a = resize_square(want, 64), b = resize_square(lossy, 64);
    double diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) diff += std::fabs(a[i] - b[i]);
    CHECK(diff / double(a.size()) < 0.02);  // 40:1 JPEG 2000 keeps the picture
    CHECK(lossy.pixels != want.pixels);     // and it really was lossy
  }
}

TEST_CASE("a DICOM file without preamble and meta header is read, a multi-frame one refused clearly",
          "[dicom]") {
  testing::TempDir dir;
  const std::vector<Uint16> row = {0, 100, 4095};
  write_dicom(dir.path + "/with-meta.dcm", "MONOCHROME2", row);
  write_dicom(dir.path + "/bare.dcm", "MONOCHROME2", row, "1", "0", false, EXS_LittleEndianImplicit, false);
  write_dicom(dir.path + "/bare-explicit.dcm", "MONOCHROME2", row, "1", "0", false,
              EXS_LittleEndianExplicit, false);
  CHECK(read_file(dir.path + "/bare.dcm").substr(128, 4) != "DICM");
  for (const char* name : {"bare.dcm", "bare-explicit.dcm"}) {
    INFO(name);
    CHECK(looks_like_dicom(dir.path + "/" + name));
    CHECK(decode_image_file(dir.path + "/" + name).pixels ==
          decode_image_file(dir.path + "/with-meta.dcm").pixels);
  }
  // Other image files are not taken for DICOM.
  write_file_atomically(dir.path + "/not.png", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(200, '\0'));
  CHECK_FALSE(looks_like_dicom(dir.path + "/not.png"));

  const std::string multi = dir.path + "/multi.dcm";
  write_dicom(multi, "MONOCHROME2", widen(row, 2));
  {
    DcmFileFormat file;
    REQUIRE(file.loadFile(multi.c_str()).good());
    file.getDataset()->putAndInsertString(DCM_NumberOfFrames, "2");
    file.getDataset()->putAndInsertUint16(DCM_Columns, 3);
    REQUIRE(file.saveFile(multi.c_str(), EXS_LittleEndianExplicit).good());
  }
  CHECK_THROWS_WITH(decode_image_file(multi),
                    Catch::Contains("multi.dcm: a multi-frame DICOM object (2 frames)") &&
                        Catch::Contains("export the frame"));
}

TEST_CASE("a JPEG 2000 header claiming a huge image is refused before anything is allocated",
          "[dicom][fuzz]") {
  // Found by fuzz/jpeg2000_fuzz.cc: a codestream whose SIZ marker claims 134217728 x 134217728
  // pixels made OpenJPEG allocate until the process ran out of memory.
  const std::string codestream(
      "\xff\x4f\xff\x51\x00\x29\x00\x00\x08\x00\x08\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
      "\x08\x02\x00\x00\x02\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01\x0f\xde\x01\xff\x52\x00"
      "\x0c\x02\x00\x04\x01\x00\x02\x04\x04\x00\x01\xff\x5c\x00\x0a\x40\x80\x88\x88\x90\x88\x88\xff\xff"
      "\xff\xff\xd0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x20\x2e"
      "\x30\xff\x90\x00\x0a\x00\x00\x00\x00\x00\x40\x00\x01\xff\x93\xdf\xf8\x90\x50\x07\x81\x57\x59\x4a"
      "\xf2\x84\xf5\x02\x00\x00\x08\x00\x00\x00\x00\x05\x00\x00\x00\x00\xcb\x3c\x0b\xc7\x63\x7f\xc0\x03"
      "\xea\x03\xea\x05\x80\x40\x3f\x30\x60\x22\x1a\x08\x5d\x8f\x03\x7f\xdd\x51\xdf\x9e",
      164);
  const auto* bytes = reinterpret_cast<const uint8_t*>(codestream.data());
  CHECK_THROWS_WITH(decode_jpeg2000(bytes, codestream.size()),
                    Catch::Contains("JPEG 2000 header claims") && Catch::Contains("refused"));
  // A codestream whose size differs from the DICOM header's is refused before decoding.
  const std::string small = read_file(FEDXRAY_SOURCE_DIR "/fuzz/corpus/jpeg2000/8x8-12bit-lossless.j2k");
  const auto* small_bytes = reinterpret_cast<const uint8_t*>(small.data());
  CHECK(decode_jpeg2000(small_bytes, small.size(), 8, 8).samples.size() == 64);
  CHECK_THROWS_WITH(decode_jpeg2000(small_bytes, small.size(), 16, 8),
                    Catch::Contains("is 8x8 but the header says 16x8"));
}

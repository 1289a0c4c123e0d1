// DICOM radiographs through DCMTK: depth, MONOCHROME1, lossy JPEG, undecodable syntaxes.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>

#include "base/atomic_file.h"
#include "config/site_config.h"
#include "data/dicom_file.h"
#include "data/image_folder_source.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

const std::string kDicom = fedxray::testing::shared_data_dir() + "/dicom-cr-samples";

// A 3x1 12-bit CR image with the given photometric interpretation and rescale.
void write_dicom(const std::string& path, const char* photometric, const std::vector<Uint16>& pixels,
                 const char* slope = "1", const char* intercept = "0") {
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
  d->putAndInsertUint16(DCM_PixelRepresentation, 0);
  d->putAndInsertString(DCM_RescaleSlope, slope);
  d->putAndInsertString(DCM_RescaleIntercept, intercept);
  d->putAndInsertUint16Array(DCM_PixelData, pixels.data(), unsigned(pixels.size()));
  REQUIRE(file.saveFile(path.c_str(), EXS_LittleEndianExplicit).good());
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

TEST_CASE("a transfer syntax DCMTK cannot decode is a per-file error, the rest loads",
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
  CHECK(source.skipped()[0].find("labels.csv:3: j2k.dcm: DCMTK cannot decode") != std::string::npos);
  CHECK(source.skipped()[0].find("JPEG 2000") != std::string::npos);
}

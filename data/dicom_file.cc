#include "data/dicom_file.h"

#include <cstdio>
#include <cstring>
#include <mutex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmimgle/dipixel.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include "base/error.h"

namespace fedxray {
namespace {

void register_codecs_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK's own log would print to stderr; errors reach the operator through our exceptions.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
  });
}

template <typename T>
void to_float(const void* data, std::size_t count, std::vector<float>& out) {
  const T* p = static_cast<const T*>(data);
  for (std::size_t i = 0; i < count; ++i) out[i] = float(p[i]);
}

}  // namespace

bool looks_like_dicom(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  char magic[4] = {0};
  const bool ok = std::fseek(f, 128, SEEK_SET) == 0 && std::fread(magic, 1, 4, f) == 4;
  std::fclose(f);
  return ok && std::memcmp(magic, "DICM", 4) == 0;
}

GrayImage decode_dicom(const std::string& path) {
  register_codecs_once();
  DcmFileFormat file;
  OFCondition status = file.loadFile(path.c_str());
  if (status.bad()) throw Error(path + ": not a readable DICOM file (" + status.text() + ")");
  DcmDataset* dataset = file.getDataset();
  const DcmXfer xfer(dataset->getOriginalXfer());
  const std::string syntax = std::string(xfer.getXferName()) + " (" + xfer.getXferID() + ")";
  DicomImage image(&file, dataset->getOriginalXfer(), CIF_MayDetachPixelData, 0, 1);
  if (image.getStatus() != EIS_Normal) {
    throw Error(path + ": DCMTK cannot decode its pixel data, transfer syntax " + syntax + " (" +
                DicomImage::getString(image.getStatus()) +
                "); convert it to an uncompressed or JPEG transfer syntax, or leave it out");
  }
  if (!image.isMonochrome()) {
    throw Error(path + ": colour DICOM images are not supported; radiographs are monochrome");
  }
  const DiPixel* inter = image.getInterData();  // after the modality transform
  if (!inter || !inter->getData()) throw Error(path + ": DICOM pixel data could not be read");
  GrayImage out;
  out.width = int(image.getWidth());
  out.height = int(image.getHeight());
  const std::size_t count = std::size_t(out.width) * std::size_t(out.height);
  if (inter->getCount() < count) throw Error(path + ": DICOM pixel data is shorter than its matrix");
  out.pixels.resize(count);
  switch (inter->getRepresentation()) {
    case EPR_Uint8: to_float<Uint8>(inter->getData(), count, out.pixels); break;
    case EPR_Sint8: to_float<Sint8>(inter->getData(), count, out.pixels); break;
    case EPR_Uint16: to_float<Uint16>(inter->getData(), count, out.pixels); break;
    case EPR_Sint16: to_float<Sint16>(inter->getData(), count, out.pixels); break;
    case EPR_Uint32: to_float<Uint32>(inter->getData(), count, out.pixels); break;
    case EPR_Sint32: to_float<Sint32>(inter->getData(), count, out.pixels); break;
  }
  const auto [lo, hi] = std::minmax_element(out.pixels.begin(), out.pixels.end());
  const float min = *lo, range = std::max(*hi - *lo, 1e-6f);
  const bool inverted = image.getPhotometricInterpretation() == EPI_Monochrome1;
  for (float& v : out.pixels) {
    v = (v - min) / range;
    if (inverted) v = 1.0f - v;
  }
  return out;
}

}  // namespace fedxray

#include "data/dicom_file.h"

#include <cstdio>
#include <cctype>
#include <cstring>
#include <mutex>

#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <dcmtk/dcmimgle/dcmimage.h>
#include <dcmtk/dcmimgle/dipixel.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>

#include "base/error.h"
#include "data/jpeg2000_codestream.h"

namespace fedxray {
namespace {

void register_codecs_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // DCMTK's own log would print to stderr; errors reach the operator through our exceptions.
    OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
    DJDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();  // JPEG-LS lossless and near-lossless
  });
}

bool is_jpeg2000(E_TransferSyntax xfer) {
  return xfer == EXS_JPEG2000LosslessOnly || xfer == EXS_JPEG2000;
}

// Replaces the data set's JPEG 2000 pixel data (one frame) by the native pixels OpenJPEG
// decodes, so that DCMTK then applies the same modality transform and MONOCHROME1 handling as
// to any other file. Throws Error naming what does not fit.
void decode_jpeg2000_pixel_data(DcmDataset& dataset, E_TransferSyntax xfer) {
  DcmElement* element = nullptr;
  if (dataset.findAndGetElement(DCM_PixelData, element).bad() || !element) {
    throw Error("it has no pixel data");
  }
  auto* pixel_data = dynamic_cast<DcmPixelData*>(element);
  DcmPixelSequence* fragments = nullptr;
  if (!pixel_data ||
      pixel_data->getEncapsulatedRepresentation(xfer, nullptr, fragments).bad() || !fragments) {
    throw Error("its JPEG 2000 pixel data is not encapsulated as DICOM requires");
  }
  std::vector<uint8_t> codestream;  // item 0 is the offset table; the frame's fragments follow
  for (unsigned long i = 1; i < fragments->card(); ++i) {
    DcmPixelItem* item = nullptr;
    Uint8* bytes = nullptr;
    if (fragments->getItem(item, i).bad() || item->getUint8Array(bytes).bad()) continue;
    if (bytes) codestream.insert(codestream.end(), bytes, bytes + item->getLength());
  }
  if (codestream.empty()) throw Error("its JPEG 2000 pixel data holds no fragment");
  Uint16 rows = 0, columns = 0, bits_allocated = 0;
  dataset.findAndGetUint16(DCM_Rows, rows);
  dataset.findAndGetUint16(DCM_Columns, columns);
  dataset.findAndGetUint16(DCM_BitsAllocated, bits_allocated);
  if (rows == 0 || columns == 0) throw Error("its Rows or Columns is missing or 0");
  const Jpeg2000Image j2k = decode_jpeg2000(codestream.data(), codestream.size(), columns, rows);
  if (j2k.width != columns || j2k.height != rows) {
    throw Error("its JPEG 2000 image is " + std::to_string(j2k.width) + "x" +
                std::to_string(j2k.height) + " but the header says " + std::to_string(columns) +
                "x" + std::to_string(rows));
  }
  const std::size_t count = j2k.samples.size();
  if (bits_allocated == 8) {
    std::vector<Uint8> native(count);
    for (std::size_t i = 0; i < count; ++i) native[i] = Uint8(j2k.samples[i]);
    dataset.putAndInsertUint8Array(DCM_PixelData, native.data(), unsigned(count));
  } else if (bits_allocated == 16) {
    std::vector<Uint16> native(count);  // signed samples keep their two's complement bits
    for (std::size_t i = 0; i < count; ++i) native[i] = Uint16(j2k.samples[i]);
    dataset.putAndInsertUint16Array(DCM_PixelData, native.data(), unsigned(count));
  } else {
    throw Error("JPEG 2000 with Bits Allocated " + std::to_string(bits_allocated) +
                " is not supported (8 or 16)");
  }
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
  unsigned char head[132] = {0};
  const std::size_t got = std::fread(head, 1, sizeof(head), f);
  std::fclose(f);
  if (got == sizeof(head) && std::memcmp(head + 128, "DICM", 4) == 0) return true;
  // No preamble: a bare data set (or meta header) starts with a little-endian tag of group
  // 0002 or 0008 (what old modalities and some archives write). DCMTK reads such files.
  if (got < 8) return false;
  const unsigned group = unsigned(head[0]) | unsigned(head[1]) << 8;
  const bool explicit_vr = std::isupper(head[4]) && std::isupper(head[5]);
  return (group == 0x0002 && explicit_vr) || (group == 0x0008 && head[3] == 0);
}

GrayImage decode_dicom(const std::string& path) {
  register_codecs_once();
  DcmFileFormat file;
  OFCondition status = file.loadFile(path.c_str());
  if (status.bad()) throw Error(path + ": not a readable DICOM file (" + status.text() + ")");
  DcmDataset* dataset = file.getDataset();
  const DcmXfer xfer(dataset->getOriginalXfer());
  const std::string syntax = std::string(xfer.getXferName()) + " (" + xfer.getXferID() + ")";
  Sint32 frames = 1;
  if (dataset->findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1) {
    throw Error(path + ": a multi-frame DICOM object (" + std::to_string(frames) +
                " frames); fedxray trains on single-frame radiographs: export the frame you "
                "want as an instance of its own, or leave the file out");
  }
  E_TransferSyntax decoded_syntax = dataset->getOriginalXfer();
  if (is_jpeg2000(decoded_syntax)) {
    try {
      decode_jpeg2000_pixel_data(*dataset, decoded_syntax);
    } catch (const Error& e) {
      throw Error(path + ": cannot decode its pixel data, transfer syntax " + syntax + ": " + e.what());
    }
    decoded_syntax = EXS_LittleEndianExplicit;
  }
  DicomImage image(dataset, decoded_syntax, CIF_MayDetachPixelData, 0, 1);
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

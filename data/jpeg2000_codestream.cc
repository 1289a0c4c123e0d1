#include "data/jpeg2000_codestream.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include <openjpeg.h>

#include "base/error.h"

namespace fedxray {
namespace {

// OpenJPEG reads through callbacks; this one serves a byte range in memory.
struct MemoryReader {
  const uint8_t* data;
  std::size_t size;
  std::size_t at = 0;
};

OPJ_SIZE_T read_bytes(void* buffer, OPJ_SIZE_T bytes, void* user) {
  auto* in = static_cast<MemoryReader*>(user);
  if (in->at >= in->size) return OPJ_SIZE_T(-1);  // end of stream, as OpenJPEG expects
  const std::size_t n = std::min<std::size_t>(bytes, in->size - in->at);
  std::memcpy(buffer, in->data + in->at, n);
  in->at += n;
  return n;
}

OPJ_OFF_T skip_bytes(OPJ_OFF_T bytes, void* user) {
  auto* in = static_cast<MemoryReader*>(user);
  if (bytes < 0) {
    const std::size_t back = std::min<std::size_t>(std::size_t(-bytes), in->at);
    in->at -= back;
    return -OPJ_OFF_T(back);
  }
  const std::size_t n = std::min<std::size_t>(std::size_t(bytes), in->size - in->at);
  in->at += n;
  return OPJ_OFF_T(n);
}

OPJ_BOOL seek_to(OPJ_OFF_T offset, void* user) {
  auto* in = static_cast<MemoryReader*>(user);
  if (offset < 0 || std::size_t(offset) > in->size) return OPJ_FALSE;
  in->at = std::size_t(offset);
  return OPJ_TRUE;
}

// OpenJPEG reports problems through a callback; the last message becomes the Error's detail.
void remember_message(const char* message, void* user) {
  std::string& last = *static_cast<std::string*>(user);
  last = message ? message : "";
  while (!last.empty() && (last.back() == '\n' || last.back() == '\r')) last.pop_back();
}

void ignore_message(const char*, void*) {}

struct CodecDeleter {
  void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
  void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
  void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

}  // namespace

Jpeg2000Image decode_jpeg2000(const uint8_t* data, std::size_t size, int expected_width,
                              int expected_height) {
  static const uint8_t kJp2Signature[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20};
  const bool jp2 =
      size >= sizeof(kJp2Signature) && std::memcmp(data, kJp2Signature, sizeof(kJp2Signature)) == 0;
  if (!jp2 && (size < 2 || data[0] != 0xFF || data[1] != 0x4F)) {
    throw Error("the JPEG 2000 data does not start with a codestream (FF4F) or a JP2 signature");
  }
  std::unique_ptr<opj_codec_t, CodecDeleter> codec(
      opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
  std::string last_error;
  opj_set_error_handler(codec.get(), remember_message, &last_error);
  opj_set_warning_handler(codec.get(), ignore_message, nullptr);
  opj_set_info_handler(codec.get(), ignore_message, nullptr);
  opj_dparameters_t parameters;
  opj_set_default_decoder_parameters(&parameters);
  if (!opj_setup_decoder(codec.get(), &parameters))
    throw Error("OpenJPEG could not set up a decoder");

  MemoryReader reader{data, size};
  std::unique_ptr<opj_stream_t, StreamDeleter> stream(opj_stream_create(1 << 16, OPJ_TRUE));
  opj_stream_set_user_data(stream.get(), &reader, nullptr);
  opj_stream_set_user_data_length(stream.get(), size);
  opj_stream_set_read_function(stream.get(), read_bytes);
  opj_stream_set_skip_function(stream.get(), skip_bytes);
  opj_stream_set_seek_function(stream.get(), seek_to);

  opj_image_t* raw = nullptr;
  if (!opj_read_header(stream.get(), codec.get(), &raw)) {
    throw Error("the JPEG 2000 header is unreadable (" + last_error + ")");
  }
  std::unique_ptr<opj_image_t, ImageDeleter> image(raw);
  // Before decoding allocates anything the header asks for:
  const int64_t width = int64_t(image->x1) - int64_t(image->x0);
  const int64_t height = int64_t(image->y1) - int64_t(image->y0);
  if (width <= 0 || height <= 0 || width * height > kMaxJpeg2000Pixels) {
    throw Error("the JPEG 2000 header claims a " + std::to_string(width) + "x" +
                std::to_string(height) + " image; more than " + std::to_string(kMaxJpeg2000Pixels) +
                " pixels (or none) is refused");
  }
  if ((expected_width > 0 && width != expected_width) ||
      (expected_height > 0 && height != expected_height)) {
    throw Error("its JPEG 2000 image is " + std::to_string(width) + "x" + std::to_string(height) +
                " but the header says " + std::to_string(expected_width) + "x" +
                std::to_string(expected_height));
  }
  if (image->numcomps != 1) {
    throw Error("the JPEG 2000 image has " + std::to_string(image->numcomps) +
                " components; radiographs are grayscale (one component)");
  }
  if (!opj_decode(codec.get(), stream.get(), image.get()) ||
      !opj_end_decompress(codec.get(), stream.get())) {
    throw Error("the JPEG 2000 codestream is corrupt or truncated (" + last_error + ")");
  }
  if (image->numcomps != 1) {
    throw Error("the JPEG 2000 image has " + std::to_string(image->numcomps) +
                " components; radiographs are grayscale (one component)");
  }
  const opj_image_comp_t& c = image->comps[0];
  if (c.dx != 1 || c.dy != 1 || !c.data || c.w == 0 || c.h == 0) {
    throw Error("the JPEG 2000 image's component is subsampled or empty");
  }
  Jpeg2000Image out;
  out.width = int(c.w);
  out.height = int(c.h);
  out.precision = int(c.prec);
  out.is_signed = c.sgnd != 0;
  out.samples.assign(c.data, c.data + std::size_t(c.w) * std::size_t(c.h));
  return out;
}

}  // namespace fedxray

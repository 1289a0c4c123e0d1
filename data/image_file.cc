#include "data/image_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <png.h>

#include "base/error.h"
#include "data/dicom_file.h"

namespace fedxray {
namespace {

struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<FILE, FileCloser>;

File open_or_throw(const std::string& path) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) throw Error(path + ": cannot open the image file: " + std::strerror(errno));
  return f;
}

void check_dimensions(const std::string& path, uint64_t width, uint64_t height) {
  if (width == 0 || height == 0 || width > uint64_t(kMaxImageSide) ||
      height > uint64_t(kMaxImageSide) || width * height > kMaxImagePixels) {
    throw Error(path + ": the image is " + std::to_string(width) + " x " + std::to_string(height) +
                " pixels; fedxray decodes at most " + std::to_string(kMaxImageSide) +
                " per side and " + std::to_string(kMaxImagePixels) + " pixels in all. The file "
                "is corrupt, or downscale it before listing it in the manifest");
  }
}

// libpng's simplified API keeps its setjmp/longjmp inside libpng; errors come back as a return
// value and image.message, so no C++ frame is ever jumped over.
GrayImage decode_png(const std::string& path, FILE* file) {
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  struct Release {
    png_image* png;
    ~Release() { png_image_free(png); }
  } release{&png};
  if (!png_image_begin_read_from_stdio(&png, file)) {
    throw Error(path + ": corrupt or truncated PNG (" + png.message + ")");
  }
  check_dimensions(path, png.width, png.height);
  // Keep the file's own layout (no libpng colour-to-gray, no alpha compositing): 8-bit files
  // come back as stored, 16-bit ones as 16-bit linear, which libpng premultiplies by alpha.
  const bool sixteen = (png.format & PNG_FORMAT_FLAG_LINEAR) != 0;
  const bool colour = (png.format & PNG_FORMAT_FLAG_COLOR) != 0;
  const bool alpha = (png.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  png.format = (sixteen ? PNG_FORMAT_FLAG_LINEAR : 0) | (colour ? PNG_FORMAT_FLAG_COLOR : 0) |
               (alpha ? PNG_FORMAT_FLAG_ALPHA : 0);
  const std::size_t channels = PNG_IMAGE_PIXEL_CHANNELS(png.format);
  const std::size_t width = png.width, height = png.height;
  const std::size_t samples = width * height * channels;
  std::vector<uint16_t> wide(sixteen ? samples : 0);
  std::vector<unsigned char> narrow(sixteen ? 0 : samples);
  void* buffer = sixteen ? static_cast<void*>(wide.data()) : static_cast<void*>(narrow.data());
  if (!png_image_finish_read(&png, nullptr, buffer, 0, nullptr)) {
    throw Error(path + ": corrupt or truncated PNG (" + png.message + ")");
  }

  GrayImage image;
  image.width = int(width);
  image.height = int(height);
  image.pixels.resize(width * height);
  const double scale = sixteen ? 65535.0 : 255.0;
  for (std::size_t p = 0; p < width * height; ++p) {
    const std::size_t at = p * channels;
    auto sample = [&](std::size_t c) -> double {
      return sixteen ? double(wide[at + c]) : double(narrow[at + c]);
    };
    double v = colour ? 0.299 * sample(0) + 0.587 * sample(1) + 0.114 * sample(2) : sample(0);
    if (sixteen && alpha) {
      const double a = sample(channels - 1);  // undo libpng's premultiplication: alpha ignored
      v = a > 0 ? std::min(65535.0, v * 65535.0 / a) : 0.0;
    }
    image.pixels[p] = float(v / scale);
  }
  return image;
}

// libjpeg reports a fatal error through error_exit, which must not return. It longjmps back into
// the jpeg_* step function below that called libjpeg; those frames hold no C++ object with a
// destructor, so nothing is skipped. Everything with a destructor lives in decode_jpeg().
struct JpegError {
  jpeg_error_mgr mgr;  // first, so libjpeg's err pointer is also a JpegError*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

struct JpegState {
  jpeg_decompress_struct cinfo;
  JpegError err;
};

void jpeg_error_exit(j_common_ptr c) {
  auto* e = reinterpret_cast<JpegError*>(c->err);
  (*c->err->format_message)(c, e->message);
  std::longjmp(e->jump, 1);
}

// Reads the header and settles the grayscale output size; nothing is allocated for pixels yet.
bool jpeg_header_step(JpegState* s, FILE* file) {
  if (setjmp(s->err.jump)) return false;
  jpeg_create_decompress(&s->cinfo);
  jpeg_stdio_src(&s->cinfo, file);
  jpeg_read_header(&s->cinfo, TRUE);
  s->cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_calc_output_dimensions(&s->cinfo);
  return true;
}

// Decodes into `out`, output_width x output_height bytes allocated by the caller.
bool jpeg_pixels_step(JpegState* s, unsigned char* out) {
  if (setjmp(s->err.jump)) return false;
  jpeg_start_decompress(&s->cinfo);
  while (s->cinfo.output_scanline < s->cinfo.output_height) {
    JSAMPROW row = out + std::size_t(s->cinfo.output_scanline) * s->cinfo.output_width;
    jpeg_read_scanlines(&s->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&s->cinfo);
  return true;
}

GrayImage decode_jpeg(const std::string& path, FILE* file) {
  auto state = std::make_unique<JpegState>();  // zeroed: destroying it before create is safe
  state->cinfo.err = jpeg_std_error(&state->err.mgr);
  state->err.mgr.error_exit = jpeg_error_exit;
  struct Destroy {
    JpegState* s;
    ~Destroy() { jpeg_destroy_decompress(&s->cinfo); }
  } destroy{state.get()};
  if (!jpeg_header_step(state.get(), file)) {
    throw Error(path + ": corrupt JPEG (" + state->err.message + ")");
  }
  const jpeg_decompress_struct& cinfo = state->cinfo;
  check_dimensions(path, cinfo.output_width, cinfo.output_height);
  if (cinfo.output_components != 1) {
    throw Error(path + ": this JPEG cannot be decoded to grayscale (" +
                std::to_string(cinfo.output_components) + " output channels)");
  }
  const std::size_t width = cinfo.output_width, height = cinfo.output_height;
  std::vector<unsigned char> gray(width * height);
  if (!jpeg_pixels_step(state.get(), gray.data())) {
    throw Error(path + ": corrupt JPEG (" + state->err.message + ")");
  }
  GrayImage image;
  image.width = int(width);
  image.height = int(height);
  image.pixels.resize(gray.size());
  for (std::size_t p = 0; p < gray.size(); ++p) image.pixels[p] = float(gray[p] / 255.0);
  return image;
}

}  // namespace

GrayImage decode_image_file(const std::string& path) {
  File file = open_or_throw(path);
  if (looks_like_dicom(path)) return decode_dicom(path);
  unsigned char magic[8] = {0};
  const std::size_t got = std::fread(magic, 1, sizeof(magic), file.get());
  std::rewind(file.get());
  if (got == 8 && png_sig_cmp(magic, 0, 8) == 0) return decode_png(path, file.get());
  if (got >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF) {
    return decode_jpeg(path, file.get());
  }
  throw Error(path + ": not a PNG, JPEG or DICOM (Part 10) file");
}

std::vector<float> resize_square(const GrayImage& image, int size) {
  std::vector<float> out(std::size_t(size) * std::size_t(size));
  const double sx = double(image.width) / size, sy = double(image.height) / size;
  auto at = [&](int x, int y) {
    x = std::clamp(x, 0, image.width - 1);
    y = std::clamp(y, 0, image.height - 1);
    return image.pixels[std::size_t(y) * std::size_t(image.width) + std::size_t(x)];
  };
  for (int oy = 0; oy < size; ++oy) {
    for (int ox = 0; ox < size; ++ox) {
      double v = 0;
      if (sx >= 1.0 && sy >= 1.0) {
        // Area average over the source box [x0, x1) x [y0, y1), with fractional edges.
        const double x0 = ox * sx, x1 = x0 + sx, y0 = oy * sy, y1 = y0 + sy;
        double weight = 0;
        for (int y = int(y0); y < int(std::ceil(y1)); ++y) {
          const double wy = std::min(y1, y + 1.0) - std::max(y0, double(y));
          for (int x = int(x0); x < int(std::ceil(x1)); ++x) {
            const double w = wy * (std::min(x1, x + 1.0) - std::max(x0, double(x)));
            v += w * at(x, y);
            weight += w;
          }
        }
        v /= weight;
      } else {
        const double fx = (ox + 0.5) * sx - 0.5, fy = (oy + 0.5) * sy - 0.5;
        const int x = int(std::floor(fx)), y = int(std::floor(fy));
        const double ax = fx - x, ay = fy - y;
        v = (1 - ay) * ((1 - ax) * at(x, y) + ax * at(x + 1, y)) +
            ay * ((1 - ax) * at(x, y + 1) + ax * at(x + 1, y + 1));
      }
      out[std::size_t(oy) * std::size_t(size) + std::size_t(ox)] = float(v);
    }
  }
  return out;
}

}  // namespace fedxray

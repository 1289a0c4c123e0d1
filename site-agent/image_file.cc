#include "site-agent/image_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <memory>

#include <jpeglib.h>
#include <png.h>

#include "common/error.h"
#include "site-agent/dicom_file.h"

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

// libpng reports through callbacks; keep its words for our error instead of printing them.
void png_fail(png_structp png, png_const_charp message) {
  auto* text = static_cast<std::string*>(png_get_error_ptr(png));
  *text = message;
  png_longjmp(png, 1);
}
void png_ignore_warning(png_structp, png_const_charp) {}

GrayImage decode_png(const std::string& path, FILE* file) {
  std::string libpng_message;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &libpng_message, png_fail,
                                           png_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) throw Error(path + ": out of memory decoding PNG");
  struct Guard {
    png_structp* png;
    png_infop* info;
    ~Guard() { png_destroy_read_struct(png, info, nullptr); }
  } guard{&png, &info};
  GrayImage image;
  std::vector<png_bytep> rows;
  std::vector<unsigned char> buffer;
  if (setjmp(png_jmpbuf(png))) {
    throw Error(path + ": corrupt or truncated PNG (" + libpng_message + ")");
  }
  png_init_io(png, file);
  png_read_info(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  const int color = png_get_color_type(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (bit_depth == 16) png_set_swap(png);  // host (little-endian) order for uint16 reads
  png_read_update_info(png, info);
  image.width = int(png_get_image_width(png, info));
  image.height = int(png_get_image_height(png, info));
  const int channels = png_get_channels(png, info);
  const int depth = png_get_bit_depth(png, info);
  const std::size_t stride = png_get_rowbytes(png, info);
  buffer.resize(stride * std::size_t(image.height));
  rows.resize(std::size_t(image.height));
  for (int y = 0; y < image.height; ++y) rows[std::size_t(y)] = buffer.data() + stride * std::size_t(y);
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);

  const bool colour = channels >= 3;
  const double scale = depth == 16 ? 65535.0 : 255.0;
  image.pixels.resize(std::size_t(image.width) * std::size_t(image.height));
  for (int y = 0; y < image.height; ++y) {
    const unsigned char* row = rows[std::size_t(y)];
    for (int x = 0; x < image.width; ++x) {
      auto sample = [&](int c) -> double {
        const std::size_t i = (std::size_t(x) * std::size_t(channels) + std::size_t(c));
        if (depth == 16) {
          uint16_t v;
          std::memcpy(&v, row + 2 * i, 2);
          return v;
        }
        return row[i];
      };
      const double v = colour ? 0.299 * sample(0) + 0.587 * sample(1) + 0.114 * sample(2) : sample(0);
      image.pixels[std::size_t(y) * std::size_t(image.width) + std::size_t(x)] = float(v / scale);
    }
  }
  return image;
}

struct JpegError {
  jpeg_error_mgr mgr;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

GrayImage decode_jpeg(const std::string& path, FILE* file) {
  jpeg_decompress_struct cinfo;
  JpegError err;
  cinfo.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = [](j_common_ptr c) {
    auto* e = reinterpret_cast<JpegError*>(c->err);
    (*c->err->format_message)(c, e->message);
    std::longjmp(e->jump, 1);
  };
  GrayImage image;
  std::vector<unsigned char> row;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    throw Error(path + ": corrupt JPEG (" + err.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, file);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&cinfo);
  image.width = int(cinfo.output_width);
  image.height = int(cinfo.output_height);
  image.pixels.resize(std::size_t(image.width) * std::size_t(image.height));
  row.resize(std::size_t(image.width));
  while (cinfo.output_scanline < cinfo.output_height) {
    const int y = int(cinfo.output_scanline);
    unsigned char* p = row.data();
    jpeg_read_scanlines(&cinfo, &p, 1);
    for (int x = 0; x < image.width; ++x) {
      image.pixels[std::size_t(y) * std::size_t(image.width) + std::size_t(x)] = float(row[std::size_t(x)] / 255.0);
    }
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
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

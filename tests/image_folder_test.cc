// Radiographs from a folder + CSV manifest: decoding, resizing, per-row problems, patient split.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "base/atomic_file.h"
#include "config/config_reader.h"
#include "base/error.h"
#include "config/site_config.h"
#include "data/image_file.h"
#include "data/image_folder_source.h"
#include "tests/skip_test.h"
#include "tests/test_support.h"

using namespace fedxray;
namespace fs = std::filesystem;

namespace {

// Writes a PNG; `samples` holds width*height*channels values at the given bit depth.
void write_png(const std::string& path, int w, int h, int depth, int color_type,
               const std::vector<unsigned>& samples) {
  FILE* f = std::fopen(path.c_str(), "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, w, h, depth, color_type, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  const int channels = png_get_channels(png, info);
  const int bytes = depth / 8;
  std::vector<unsigned char> row(std::size_t(w * channels * bytes));
  for (int y = 0; y < h; ++y) {
    for (int i = 0; i < w * channels; ++i) {
      const unsigned v = samples[std::size_t(y * w * channels + i)];
      if (bytes == 2) {
        row[std::size_t(2 * i)] = (unsigned char)(v >> 8);  // PNG is big-endian
        row[std::size_t(2 * i + 1)] = (unsigned char)(v & 0xff);
      } else {
        row[std::size_t(i)] = (unsigned char)v;
      }
    }
    png_write_row(png, row.data());
  }
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

void write_gray_jpeg(const std::string& path, int w, int h, unsigned char value) {
  FILE* f = std::fopen(path.c_str(), "wb");
  jpeg_compress_struct c;
  jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = JDIMENSION(w);
  c.image_height = JDIMENSION(h);
  c.input_components = 1;
  c.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(std::size_t(w), value);
  while (c.next_scanline < c.image_height) {
    unsigned char* p = row.data();
    jpeg_write_scanlines(&c, &p, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

// A PNG whose IHDR claims width x height; its IDAT holds a few bytes only.
std::string png_claiming(uint32_t width, uint32_t height) {
  auto chunk = [](const std::string& type, const std::string& data) {
    std::string out;
    for (uint32_t v : {uint32_t(data.size())}) {
      for (int i = 3; i >= 0; --i) out.push_back(char((v >> (8 * i)) & 0xff));
    }
    const std::string body = type + data;
    out += body;
    const uint32_t crc =
        uint32_t(crc32(0L, reinterpret_cast<const Bytef*>(body.data()), uInt(body.size())));
    for (int i = 3; i >= 0; --i) out.push_back(char((crc >> (8 * i)) & 0xff));
    return out;
  };
  std::string ihdr;
  for (uint32_t v : {width, height}) {
    for (int i = 3; i >= 0; --i) ihdr.push_back(char((v >> (8 * i)) & 0xff));
  }
  ihdr += std::string("\x08\x00\x00\x00\x00", 5);  // 8-bit gray, no interlace
  return std::string("\x89PNG\r\n\x1a\n", 8) + chunk("IHDR", ihdr) +
         chunk("IDAT", std::string("\x78\x9c\x63\x00\x00\x00\x01\x00\x01", 9)) + chunk("IEND", "");
}

DataSourceConfig folder_config(const std::string& manifest, const std::string& patient_column = "") {
  DataSourceConfig c;
  c.source = "image_folder";
  c.manifest = manifest;
  c.label_column = "label";
  c.patient_column = patient_column;
  c.held_out_fraction = 0.25;
  c.seed = 3;
  return c;
}

const std::string kShared = fedxray::testing::shared_data_dir();

}  // namespace

TEST_CASE("PNG decoding keeps 8- and 16-bit depth and turns colour into luminance", "[images]") {
  testing::TempDir dir;
  write_png(dir.path + "/g8.png", 2, 1, 8, PNG_COLOR_TYPE_GRAY, {0, 51});
  write_png(dir.path + "/g16.png", 2, 1, 16, PNG_COLOR_TYPE_GRAY, {1000, 65535});
  write_png(dir.path + "/rgb.png", 1, 1, 8, PNG_COLOR_TYPE_RGB, {255, 0, 0});
  write_png(dir.path + "/rgba.png", 1, 1, 8, PNG_COLOR_TYPE_RGB_ALPHA, {0, 255, 0, 17});
  write_png(dir.path + "/rgba16.png", 1, 1, 16, PNG_COLOR_TYPE_RGB_ALPHA, {0, 65535, 0, 32768});
  GrayImage g8 = decode_image_file(dir.path + "/g8.png");
  CHECK(g8.width == 2);
  CHECK(g8.pixels[1] == Approx(51.0 / 255.0));
  GrayImage g16 = decode_image_file(dir.path + "/g16.png");
  CHECK(g16.pixels[0] == Approx(1000.0 / 65535.0).epsilon(1e-6));  // not rounded to 8 bits
  CHECK(g16.pixels[1] == Approx(1.0));
  CHECK(decode_image_file(dir.path + "/rgb.png").pixels[0] == Approx(0.299));
  CHECK(decode_image_file(dir.path + "/rgba.png").pixels[0] == Approx(0.587));  // alpha ignored
  CHECK(decode_image_file(dir.path + "/rgba16.png").pixels[0] == Approx(0.587).epsilon(1e-4));
}

TEST_CASE("images whose headers claim huge sizes are refused by name before allocating",
          "[images]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/wide.png", png_claiming(1000000, 1000000));
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/wide.png"),
                    Catch::Contains("wide.png: the image is 1000000 x 1000000 pixels"));
  write_file_atomically(dir.path + "/tall.png", png_claiming(1, uint32_t(kMaxImageSide) + 1));
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/tall.png"),
                    Catch::Contains("tall.png: the image"));
  write_file_atomically(dir.path + "/many.png", png_claiming(9000, 9000));  // 81 Mpx in all
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/many.png"),
                    Catch::Contains("many.png: the image"));
  // A real JPEG with its frame header rewritten to 60000 x 60000.
  write_gray_jpeg(dir.path + "/a.jpg", 8, 8, 100);
  std::string jpeg = read_file(dir.path + "/a.jpg");
  const std::size_t sof = jpeg.find("\xFF\xC0");
  REQUIRE(sof != std::string::npos);
  for (std::size_t at : {sof + 5, sof + 7}) {
    jpeg[at] = char(0xEA);  // 0xEA60 = 60000
    jpeg[at + 1] = char(0x60);
  }
  write_file_atomically(dir.path + "/huge.jpg", jpeg);
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/huge.jpg"),
                    Catch::Contains("huge.jpg: the image is 60000 x 60000 pixels"));
}

TEST_CASE("corrupt JPEG headers and tables are refused by name", "[images]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/junk.jpg",
                        std::string("\xFF\xD8\xFF\xE0", 4) + " not really a jpeg");
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/junk.jpg"),
                    Catch::Contains("junk.jpg: corrupt JPEG"));
  // Over-subscribed Huffman code lengths: libjpeg fails once decoding starts, after the header.
  write_gray_jpeg(dir.path + "/a.jpg", 16, 16, 100);
  std::string jpeg = read_file(dir.path + "/a.jpg");
  const std::size_t dht = jpeg.find("\xFF\xC4");
  REQUIRE(dht != std::string::npos);
  REQUIRE(jpeg.substr(dht + 5, 3) == std::string("\x00\x01\x05", 3));  // the standard DC table
  jpeg[dht + 5] = 2;
  jpeg[dht + 6] = 0;
  jpeg[dht + 7] = 4;
  write_file_atomically(dir.path + "/bad-table.jpg", jpeg);
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/bad-table.jpg"),
                    Catch::Contains("bad-table.jpg: corrupt JPEG"));
  // The decoder is still usable afterwards (no state left behind by the failed one).
  CHECK(decode_image_file(dir.path + "/a.jpg").width == 16);
}

TEST_CASE("JPEG decodes to grayscale and junk files are refused by name", "[images]") {
  testing::TempDir dir;
  write_gray_jpeg(dir.path + "/a.jpg", 16, 16, 200);
  GrayImage j = decode_image_file(dir.path + "/a.jpg");
  CHECK(j.width == 16);
  CHECK(j.pixels[17] == Approx(200.0 / 255.0).margin(2.0 / 255.0));
  write_file_atomically(dir.path + "/junk.png", "\x89PNG\r\n\x1a\n truncated");
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/junk.png"), Catch::Contains("junk.png: corrupt"));
  write_file_atomically(dir.path + "/text.png", "hello world");
  CHECK_THROWS_WITH(decode_image_file(dir.path + "/text.png"), Catch::Contains("not a PNG, JPEG or DICOM"));
}

TEST_CASE("resizing averages areas when shrinking and interpolates when enlarging", "[images]") {
  GrayImage img{4, 4, {0, 0, 1, 1,  //
                       0, 0, 1, 1,  //
                       1, 1, 0.5, 0.5, 1, 1, 0.5, 0.5}};
  CHECK(resize_square(img, 2) == std::vector<float>{0, 1, 1, 0.5});
  GrayImage flat{3, 3, std::vector<float>(9, 0.25f)};
  for (float v : resize_square(flat, 7)) CHECK(v == Approx(0.25));
}

TEST_CASE("bad manifest rows are skipped and reported by line, the rest loads", "[images]") {
  testing::TempDir dir;
  for (int i = 0; i < 6; ++i) {
    write_png(dir.path + "/img" + std::to_string(i) + ".png", 8, 8, 8, PNG_COLOR_TYPE_GRAY,
              std::vector<unsigned>(64, unsigned(i * 40)));
  }
  write_file_atomically(dir.path + "/broken.png", "\x89PNG\r\n\x1a\nxx");
  write_file_atomically(dir.path + "/labels.csv",
                        "filename,label,patient\n"
                        "img0.png,0,p1\n"
                        "img1.png,1,p1\n"
                        "missing.png,0,p2\n"   // line 4
                        "img2.png,7,p2\n"      // line 5: not a class
                        "broken.png,1,p3\n"    // line 6
                        "\"img3.png\",1,p3\n"
                        "img4.png,0,p4\n"
                        "img5.png,1,p5\n");
  ImageFolderSource source(folder_config(dir.path + "/labels.csv", "patient"));
  CHECK(source.size() == 8);
  TrainHeldOut data = source.load(2, 4);
  CHECK(data.train.count() + data.held_out.count() == 5);
  CHECK(data.train.image_size == 4);
  REQUIRE(source.skipped().size() == 3);
  CHECK(source.skipped()[0].find("labels.csv:4: missing.png: file not found") != std::string::npos);
  CHECK(source.skipped()[1].find("labels.csv:5: img2.png: label \"7\" is not a class") != std::string::npos);
  CHECK(source.skipped()[2].find("labels.csv:6: broken.png: corrupt") != std::string::npos);
}

TEST_CASE("a manifest saved as Excel CSV UTF-8, with a byte-order mark, loads", "[images]") {
  testing::TempDir dir;
  write_png(dir.path + "/a.png", 4, 4, 8, PNG_COLOR_TYPE_GRAY, std::vector<unsigned>(16, 9));
  write_png(dir.path + "/b.png", 4, 4, 8, PNG_COLOR_TYPE_GRAY, std::vector<unsigned>(16, 9));
  write_file_atomically(dir.path + "/m.csv",
                        "\xEF\xBB\xBF" "filename,label\r\na.png,0\r\n\"b.png\" ,1\r\n");
  ImageFolderSource source(folder_config(dir.path + "/m.csv"));
  TrainHeldOut data = source.load(2, 4);
  CHECK(source.skipped().empty());
  CHECK(data.train.count() + data.held_out.count() == 2);
}

TEST_CASE("text after a closing quote in a manifest is an error naming file and line",
          "[images]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/m.csv", "filename,label\na.png,0\n\"a\"b.png,1\n");
  CHECK_THROWS_WITH(ImageFolderSource(folder_config(dir.path + "/m.csv")),
                    Catch::Contains("m.csv:3: text after the closing quote"));
}

TEST_CASE("manifest paths outside the manifest's folder are refused unless the site allows them",
          "[images]") {
  testing::TempDir dir;
  fs::create_directories(dir.path + "/site/sub");
  write_png(dir.path + "/outside.png", 4, 4, 8, PNG_COLOR_TYPE_GRAY, std::vector<unsigned>(16, 9));
  write_png(dir.path + "/site/sub/in.png", 4, 4, 8, PNG_COLOR_TYPE_GRAY,
            std::vector<unsigned>(16, 9));
  write_file_atomically(dir.path + "/site/m.csv",
                        "filename,label\n"
                        "sub/in.png,0\n"
                        "../outside.png,1\n"                       // line 3
                        "sub/../../outside.png,1\n"                // line 4
                        + dir.path + "/outside.png,0\n");          // line 5
  DataSourceConfig config = folder_config(dir.path + "/site/m.csv");
  ImageFolderSource strict(config);
  ImagePool pool = strict.load_pool(2, 4);
  CHECK(pool.images.count() == 1);
  REQUIRE(strict.skipped().size() == 3);
  CHECK_THAT(strict.skipped()[0],
             Catch::Contains("m.csv:3: ../outside.png: the image path has a '..'") &&
                 Catch::Contains("data.allow_paths_outside_manifest_folder: true"));
  CHECK_THAT(strict.skipped()[1],
             Catch::Contains("m.csv:4: sub/../../outside.png: the image path has"));
  CHECK_THAT(strict.skipped()[2],
             Catch::Contains("m.csv:5: ") && Catch::Contains("the image path is absolute"));

  ConfigReader yaml = ConfigReader::load_string(
      "data:\n  source: image_folder\n  manifest: site/m.csv\n"
      "  allow_paths_outside_manifest_folder: true\n", dir.path + "/site.yaml");
  DataSourceConfig allowing = read_data_source_config(yaml.section("data"));
  CHECK(allowing.allow_paths_outside_manifest_folder);
  ImageFolderSource lenient(allowing);
  CHECK(lenient.load_pool(2, 4).images.count() == 4);
  CHECK(lenient.skipped().empty());

  ConfigReader typo = ConfigReader::load_string(
      "data:\n  source: image_folder\n  manifest: m.csv\n"
      "  allow_paths_outside_manifest_folder: sometimes\n", dir.path + "/site.yaml");
  CHECK_THROWS_WITH(read_data_source_config(typo.section("data")),
                    Catch::Contains("site.yaml:4") &&
                        Catch::Contains("allow_paths_outside_manifest_folder"));
}

TEST_CASE("a manifest without the configured column names it and what is there", "[images]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/m.csv", "path,diagnosis\na.png,0\n");
  ImageFolderSource source(folder_config(dir.path + "/m.csv"));
  CHECK_THROWS_WITH(source.load(2, 8), Catch::Contains("no column 'filename' (data.image_column); "
                                                       "the header has: path, diagnosis"));
}

TEST_CASE("a site with no usable image refuses the job with the reason", "[images]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/m.csv", "filename,label\nnope.png,0\n");
  ImageFolderSource source(folder_config(dir.path + "/m.csv"));
  CHECK_THROWS_WITH(source.load(2, 8), Catch::Contains("none of the 1 listed images is usable") &&
                                           Catch::Contains("refuses the job"));
}

TEST_CASE("the patient split never puts one patient on both sides, and is seeded", "[images]") {
  ImageSet all;
  all.image_size = 1;
  std::vector<std::string> patients;
  for (int i = 0; i < 200; ++i) {
    all.pixels.push_back(float(i));
    all.labels.push_back(i % 2);
    patients.push_back("p" + std::to_string(i % 37));
  }
  TrainHeldOut a = split_held_out_by_group(all, patients, 0.2, 9);
  TrainHeldOut b = split_held_out_by_group(all, patients, 0.2, 9);
  CHECK(a.held_out.pixels == b.held_out.pixels);
  std::set<std::string> held, train;
  for (float v : a.held_out.pixels) held.insert(patients[std::size_t(v)]);
  for (float v : a.train.pixels) train.insert(patients[std::size_t(v)]);
  for (const auto& p : held) CHECK(train.count(p) == 0);
  CHECK(a.held_out.count() >= 35);
  CHECK(a.held_out.count() <= 50);
}

TEST_CASE("real NIH chest X-rays load with a patient-level split", "[images][real-data]") {
  const std::string manifest = kShared + "/nih-chestxray8-pneumonia-256/labels.csv";
  if (!fs::exists(manifest)) {
    FEDXRAY_SKIP(manifest << " is absent (real data lives in ../shared/data)");
  }
  DataSourceConfig config = folder_config(manifest, "nih_patient_id");
  config.label_column = "label_id";
  ImageFolderSource source(config);
  TrainHeldOut data = source.load(2, 64);
  CHECK(source.skipped().empty());
  CHECK(data.train.count() + data.held_out.count() == source.size());
  CHECK(data.held_out.count() > 100);
  std::set<int64_t> labels(data.train.labels.begin(), data.train.labels.end());
  CHECK(labels == std::set<int64_t>{0, 1});
}

TEST_CASE("real full-size NIH PNGs decode, the two RGBA ones as luminance", "[images][real-data]") {
  const std::string dir = kShared + "/nih-chestxray8-pneumonia-subset/Pneumonia";
  if (!fs::exists(dir + "/00000773_001.png")) {
    FEDXRAY_SKIP(dir << " is absent (real data lives in ../shared/data)");
  }
  for (std::string name : {"00000773_001.png", "00001054_002.png"}) {
    GrayImage img = decode_image_file(dir + "/" + name);
    CHECK(img.width == 1024);
    CHECK(img.height == 1024);
    double mean = 0;
    for (float v : img.pixels) mean += v;
    mean /= double(img.pixels.size());
    CHECK(mean > 0.1);  // a real radiograph, not an empty or all-white frame
    CHECK(mean < 0.9);
  }
}

TEST_CASE("a multi-label manifest gives each image the bit set of its finding columns",
          "[images][labels]") {
  testing::TempDir dir;
  for (int i = 0; i < 5; ++i) {
    write_png(dir.path + "/img" + std::to_string(i) + ".png", 4, 4, 8, PNG_COLOR_TYPE_GRAY,
              std::vector<unsigned>(16, unsigned(i * 50)));
  }
  write_file_atomically(dir.path + "/labels.csv",
                        "filename,Effusion,Mass,Hernia\n"
                        "img0.png,0,0,0\n"
                        "img1.png,1,0,1\n"
                        "img2.png,0,1,0\n"
                        "img3.png,yes,0,0\n"  // line 5: not 0/1
                        "img4.png,1,1,1\n");
  DataSourceConfig config = folder_config(dir.path + "/labels.csv");
  config.label_columns = {"Effusion", "Mass", "Hernia"};
  ImageFolderSource source(config);
  CHECK(source.multilabel());
  ImagePool pool = source.load_pool(3, 4);
  CHECK(pool.images.labels == std::vector<int64_t>{0b000, 0b101, 0b010, 0b111});
  REQUIRE(source.skipped().size() == 1);
  CHECK_THAT(source.skipped()[0], Catch::Contains("labels.csv:5: img3.png: finding column "
                                                  "'Effusion' holds \"yes\"; it must be 0 or 1"));
  // A job with another number of findings is refused before any image is read.
  CHECK_THROWS_WITH(source.load(2, 4), Catch::Contains("the job has 2 findings but the site's "
                                                       "data.label_columns lists 3"));
  config.label_columns = {"Effusion", "Edema"};
  CHECK_THROWS_WITH(ImageFolderSource(config).load(2, 4),
                    Catch::Contains("no column 'Edema' (data.label_columns)"));
  CHECK_FALSE(ImageFolderSource(folder_config(dir.path + "/labels.csv")).multilabel());
}

TEST_CASE("a site config lists multi-label finding columns", "[images][labels][config]") {
  testing::TempDir dir;
  write_file_atomically(dir.path + "/data.yaml",
                        "data:\n  source: image_folder\n  manifest: labels.csv\n"
                        "  label_columns: [Effusion, Mass]\n");
  const DataSourceConfig c = load_data_source_config(dir.path + "/data.yaml");
  CHECK(c.label_columns == std::vector<std::string>{"Effusion", "Mass"});
}

TEST_CASE("a segmentation manifest loads each image with its mask, resized alike",
          "[images][segmentation]") {
  testing::TempDir dir;
  std::vector<unsigned> mask(64, 0);  // 8 x 8, the left half foreground (255)
  for (int y = 0; y < 8; ++y) {
    for (int x = 0; x < 4; ++x) mask[std::size_t(y * 8 + x)] = 255;
  }
  for (int i = 0; i < 3; ++i) {
    write_png(dir.path + "/img" + std::to_string(i) + ".png", 8, 8, 8, PNG_COLOR_TYPE_GRAY,
              std::vector<unsigned>(64, unsigned(i * 60)));
  }
  write_png(dir.path + "/mask.png", 8, 8, 8, PNG_COLOR_TYPE_GRAY, mask);
  write_file_atomically(dir.path + "/seg.dcm", "not read");
  write_file_atomically(dir.path + "/labels.csv",
                        "filename,lung_mask\n"
                        "img0.png,mask.png\n"
                        "img1.png,\n"          // line 3: no mask
                        "img2.png,seg.dcm\n"   // line 4: DICOM SEG
                        "img0.png,mask.png\n");
  DataSourceConfig config = folder_config(dir.path + "/labels.csv");
  config.mask_column = "lung_mask";
  ImageFolderSource source(config);
  CHECK(source.has_masks());
  const ImagePool pool = source.load_pool(2, 4);
  REQUIRE(pool.images.count() == 2);
  REQUIRE(pool.images.masks.size() == 2 * 16);
  CHECK(std::vector<uint8_t>(pool.images.mask(0), pool.images.mask(0) + 4) ==
        std::vector<uint8_t>{1, 1, 0, 0});
  REQUIRE(source.skipped().size() == 2);
  CHECK_THAT(source.skipped()[0], Catch::Contains("labels.csv:3: img1.png: no mask"));
  CHECK_THAT(source.skipped()[1], Catch::Contains("DICOM SEG masks are not read yet"));
  // A split keeps each image's mask with it.
  const TrainHeldOut split = split_held_out(pool.images, 0.5, 1);
  CHECK(split.train.masks.size() == 16);
  CHECK(split.held_out.masks.size() == 16);
}

TEST_CASE("a manifest column that looks like a patient identifier is refused, a file name "
          "column is not", "[images]") {
  testing::TempDir dir;
  write_png(dir.path + "/a.png", 4, 4, 8, PNG_COLOR_TYPE_GRAY, std::vector<unsigned>(16, 9));
  write_png(dir.path + "/b.png", 4, 4, 8, PNG_COLOR_TYPE_GRAY, std::vector<unsigned>(16, 90));
  for (const std::string column : {"patient_name", "BirthDate", "MRN", "accession_no"}) {
    write_file_atomically(dir.path + "/m.csv", "filename,label," + column + "\na.png,0,x\nb.png,1,y\n");
    CHECK_THROWS_WITH(ImageFolderSource(folder_config(dir.path + "/m.csv")).load(2, 4),
                      Catch::Contains("a column '" + column + "' that looks like a patient identifier"));
  }
  write_file_atomically(dir.path + "/m.csv",
                        "filename,label,source_filename\na.png,0,ARDS.png\nb.png,1,x.jpg\n");
  CHECK(ImageFolderSource(folder_config(dir.path + "/m.csv")).load_pool(2, 4).images.count() == 2);
}

TEST_CASE("class names in the label column map to class numbers through data.class_names",
          "[images]") {
  testing::TempDir dir;
  for (int i = 0; i < 3; ++i) {
    write_png(dir.path + "/img" + std::to_string(i) + ".png", 4, 4, 8, PNG_COLOR_TYPE_GRAY,
              std::vector<unsigned>(16, unsigned(i * 60)));
  }
  write_file_atomically(dir.path + "/labels.csv",
                        "filename,label\nimg0.png,Hand\nimg1.png,CXR\nimg2.png,Knee\n");
  DataSourceConfig config = folder_config(dir.path + "/labels.csv");
  config.class_names = {"CXR", "Hand"};
  ImageFolderSource source(config);
  CHECK(source.load_pool(2, 4).images.labels == std::vector<int64_t>{1, 0});
  REQUIRE(source.skipped().size() == 1);
  CHECK_THAT(source.skipped()[0],
             Catch::Contains("label \"Knee\" is not one of data.class_names (CXR, Hand)"));
  CHECK_THROWS_WITH(source.load(3, 4), Catch::Contains("the job has 3 classes but the site's "
                                                       "data.class_names lists 2"));
}

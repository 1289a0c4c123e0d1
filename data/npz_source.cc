#include "data/npz_source.h"

#include <algorithm>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "data/image_file.h"
#include "data/npz_archive.h"

namespace fedxray {
namespace {

constexpr int64_t kMaxSide = 65535;

// Throws naming the archive's members when `name` is not one of them.
void require_member(const NpzArchive& archive, const std::string& name,
                    const std::string& config_key) {
  if (archive.has(name)) return;
  std::vector<std::string> names = archive.member_names();
  std::sort(names.begin(), names.end());
  std::string present;
  for (const auto& n : names) {
    present += present.empty() ? "" : ", ";
    // The names come from the file: no control or non-ASCII bytes in the message.
    for (char c : n) present.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  throw Error(archive.path() + ": no member '" + name + "' (from " + config_key +
              "); the archive has: " + present);
}

}  // namespace

NpzSource::NpzSource(DataSourceConfig config) : config_(std::move(config)) {
  const NpzArchive archive(config_.file);
  for (const auto& split : {config_.train_split, config_.held_out_split}) {
    if (split.empty()) continue;
    const std::string name = split + "_labels.npy";
    require_member(archive, name, "data.train_split/held_out_split");
    images_ += archive.read_npy_header(name).elements();
  }
}

ImageSet NpzSource::read_split(const NpzArchive& archive, const std::string& split, int classes,
                               int image_size) {
  const std::string images_name = split + "_images.npy", labels_name = split + "_labels.npy";
  const std::string images_where = config_.file + ":" + images_name;
  require_member(archive, images_name, "data." + split);
  require_member(archive, labels_name, "data." + split);
  // Labels first: they are small, and a mismatch is found before the images are read.
  const NpyArray labels = archive.read_npy(labels_name);
  const NpyArray header = archive.read_npy_header(images_name);
  const std::vector<int64_t>& shape = header.shape;
  if (shape.size() < 3 || shape.size() > 4) {
    throw Error(images_where + ": expected shape (N, H, W) or (N, H, W, C)");
  }
  const int64_t channels = shape.size() == 4 ? shape[3] : 1;
  if (shape[1] < 1 || shape[1] > kMaxSide || shape[2] < 1 || shape[2] > kMaxSide ||
      channels < 1 || channels > 4) {
    throw Error(images_where + ": shape (N, H, W[, C]) needs H and W in 1.." +
                std::to_string(kMaxSide) + " and C in 1..4 (got H " + std::to_string(shape[1]) +
                ", W " + std::to_string(shape[2]) + ", C " + std::to_string(channels) + ")");
  }
  const std::size_t n = std::size_t(shape[0]);
  if (labels.elements() != n) {
    throw Error(config_.file + ":" + labels_name + ": " + std::to_string(labels.elements()) +
                " labels for " + std::to_string(n) + " images");
  }
  ImageSet out;
  out.image_size = image_size;
  if (n == 0) return out;
  const NpyArray images = archive.read_npy(images_name);
  if (images.shape != shape) {  // the file changed between the two reads
    throw Error(images_where + ": the array changed while it was read; load the data again");
  }
  const int h = int(shape[1]), w = int(shape[2]), c = int(channels);
  const double scale = images.dtype[1] == 'f' ? 1.0 : images.item_size() == 1 ? 255.0 : 65535.0;
  GrayImage frame{w, h, std::vector<float>(std::size_t(w) * std::size_t(h))};
  for (std::size_t i = 0; i < n; ++i) {
    const double label = labels.at(i);
    // Written so that NaN fails too.
    if (!(label >= 0 && label < classes) || label != double(int64_t(label))) {
      std::ostringstream shown;
      shown << label;
      skipped_.push_back(config_.file + ":" + labels_name + "[" + std::to_string(i) + "]: label " +
                         shown.str() + " is not a class of this job");
      continue;
    }
    const std::size_t base = i * std::size_t(w) * std::size_t(h) * std::size_t(c);
    for (std::size_t p = 0; p < frame.pixels.size(); ++p) {
      const std::size_t at = base + p * std::size_t(c);
      const double v = c >= 3 ? 0.299 * images.at(at) + 0.587 * images.at(at + 1) +
                                    0.114 * images.at(at + 2)
                              : images.at(at);
      frame.pixels[p] = float(v / scale);
    }
    std::vector<float> resized = resize_square(frame, image_size);
    out.pixels.insert(out.pixels.end(), resized.begin(), resized.end());
    out.labels.push_back(int64_t(label));
  }
  return out;
}

TrainHeldOut NpzSource::load(int classes, int image_size) {
  skipped_.clear();
  const NpzArchive archive(config_.file);
  TrainHeldOut out;
  if (config_.held_out_split.empty()) {
    out = split_held_out(read_split(archive, config_.train_split, classes, image_size),
                         config_.held_out_fraction, config_.seed);
  } else {
    out.train = read_split(archive, config_.train_split, classes, image_size);
    out.held_out = read_split(archive, config_.held_out_split, classes, image_size);
  }
  for (std::size_t i = 0; i < skipped_.size() && i < 20; ++i) spdlog::warn("skipped {}", skipped_[i]);
  if (!skipped_.empty()) spdlog::warn("{}: skipped {} images", config_.file, skipped_.size());
  if (out.train.count() == 0) {
    throw Error(config_.file + ": no usable training image for this job" +
                (skipped_.empty() ? std::string() : " (first problem: " + skipped_.front() + ")") +
                "; the site refuses the job");
  }
  spdlog::info("{}: {} training and {} held-out images at {} px", config_.file, out.train.count(),
               out.held_out.count(), image_size);
  return out;
}

ImagePool NpzSource::load_pool(int classes, int image_size) {
  return pool_without_patients(load(classes, image_size));
}

}  // namespace fedxray

#include "site-agent/npz_source.h"

#include <map>

#include <spdlog/spdlog.h>

#include "common/error.h"
#include "site-agent/image_file.h"
#include "site-agent/npz_archive.h"

namespace fedxray {
namespace {

const std::string& member(const std::map<std::string, std::string>& members,
                          const std::string& file, const std::string& name,
                          const std::string& config_key) {
  auto it = members.find(name);
  if (it != members.end()) return it->second;
  std::string present;
  for (const auto& [n, bytes] : members) present += (present.empty() ? "" : ", ") + n;
  throw Error(file + ": no member '" + name + "' (from " + config_key + "); the archive has: " +
              present);
}

}  // namespace

NpzSource::NpzSource(DataSourceConfig config) : config_(std::move(config)) {
  auto members = read_zip_members(config_.file);
  for (const auto& split : {config_.train_split, config_.held_out_split}) {
    if (split.empty()) continue;
    const std::string name = split + "_labels.npy";
    images_ += parse_npy(member(members, config_.file, name, "data.train_split/held_out_split"),
                         config_.file + ":" + name)
                   .shape.front();
  }
}

ImageSet NpzSource::read_split(const std::map<std::string, std::string>& members,
                               const std::string& split, int classes, int image_size) {
  const std::string images_name = split + "_images.npy", labels_name = split + "_labels.npy";
  const NpyArray images = parse_npy(member(members, config_.file, images_name, "data." + split),
                                    config_.file + ":" + images_name);
  const NpyArray labels = parse_npy(member(members, config_.file, labels_name, "data." + split),
                                    config_.file + ":" + labels_name);
  if (images.shape.size() < 3 || images.shape.size() > 4) {
    throw Error(config_.file + ":" + images_name + ": expected shape (N, H, W) or (N, H, W, C)");
  }
  const std::size_t n = std::size_t(images.shape[0]);
  if (labels.elements() != n) {
    throw Error(config_.file + ":" + labels_name + ": " + std::to_string(labels.elements()) +
                " labels for " + std::to_string(n) + " images");
  }
  const int h = int(images.shape[1]), w = int(images.shape[2]);
  const int c = images.shape.size() == 4 ? int(images.shape[3]) : 1;
  const double scale = images.dtype[1] == 'f' ? 1.0 : images.dtype == "|u1" ? 255.0 : 65535.0;
  ImageSet out;
  out.image_size = image_size;
  GrayImage frame{w, h, std::vector<float>(std::size_t(w) * std::size_t(h))};
  for (std::size_t i = 0; i < n; ++i) {
    const double label = labels.at(i);
    if (label < 0 || label >= classes || label != double(int64_t(label))) {
      skipped_.push_back(config_.file + ":" + labels_name + "[" + std::to_string(i) + "]: label " +
                         std::to_string(label) + " is not a class of this job");
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
  auto members = read_zip_members(config_.file);
  TrainHeldOut out;
  if (config_.held_out_split.empty()) {
    out = split_held_out(read_split(members, config_.train_split, classes, image_size),
                         config_.held_out_fraction, config_.seed);
  } else {
    out.train = read_split(members, config_.train_split, classes, image_size);
    out.held_out = read_split(members, config_.held_out_split, classes, image_size);
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

#include "data/synthetic_radiographs.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace fedxray {
namespace {

// Distance from point p to segment ab.
double segment_distance(double px, double py, double ax, double ay, double bx, double by) {
  const double vx = bx - ax, vy = by - ay;
  const double t = std::clamp(((px - ax) * vx + (py - ay) * vy) / (vx * vx + vy * vy), 0.0, 1.0);
  const double dx = px - (ax + t * vx), dy = py - (ay + t * vy);
  return std::sqrt(dx * dx + dy * dy);
}

}  // namespace

void shift_intensity(ImageSet& images, double shift) {
  for (float& v : images.pixels) v = std::clamp(float(v + shift), 0.0f, 1.0f);
}

ImageSet generate_synthetic_radiographs(const SyntheticSpec& spec) {
  const int s = spec.image_size;
  ImageSet out;
  out.image_size = s;
  out.pixels.resize(std::size_t(spec.count) * std::size_t(s) * std::size_t(s));
  std::mt19937_64 rng(spec.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> noise(0.0, 0.035);
  std::vector<int64_t> labels(std::size_t(spec.count));
  for (int i = 0; i < spec.count; ++i) labels[std::size_t(i)] = i % spec.classes;
  std::shuffle(labels.begin(), labels.end(), rng);

  for (int i = 0; i < spec.count; ++i) {
    const int grade = int(labels[std::size_t(i)]);
    // Bone shaft: a thick segment through the image at a random angle.
    const double angle = u(rng) * M_PI;
    const double cx = s * (0.45 + 0.1 * u(rng)), cy = s * (0.45 + 0.1 * u(rng));
    const double half = s * 0.45;
    const double ax = cx - half * std::cos(angle), ay = cy - half * std::sin(angle);
    const double bx = cx + half * std::cos(angle), by = cy + half * std::sin(angle);
    const double radius = s * (0.14 + 0.03 * u(rng));
    const double cortex = radius * 0.38;
    const double bone = 0.72 + 0.12 * u(rng);
    const double tissue = 0.18 + 0.1 * u(rng);
    // Erosion: a notch on the cortex, its radius growing with the grade.
    const double along = 0.25 + 0.5 * u(rng);
    const double side = u(rng) < 0.5 ? -1.0 : 1.0;
    const double nx = ax + along * (bx - ax) - side * std::sin(angle) * radius;
    const double ny = ay + along * (by - ay) + side * std::cos(angle) * radius;
    const double notch = grade == 0 ? 0.0 : radius * (0.5 + 0.6 * (grade - 1) /
                                                              std::max(1, spec.classes - 2));
    const double gx = u(rng) - 0.5, gy = u(rng) - 0.5;  // soft-tissue gradient
    float* img = out.pixels.data() + std::size_t(i) * std::size_t(s) * std::size_t(s);
    for (int y = 0; y < s; ++y) {
      for (int x = 0; x < s; ++x) {
        const double px = x + 0.5, py = y + 0.5;
        double v = tissue + 0.15 * (gx * (px / s - 0.5) + gy * (py / s - 0.5));
        const double d = segment_distance(px, py, ax, ay, bx, by);
        if (d < radius) v = d > radius - cortex ? bone : bone * 0.62;
        if (notch > 0 && std::hypot(px - nx, py - ny) < notch) v = tissue + 0.05;
        v += noise(rng) + spec.intensity_shift;
        img[y * s + x] = float(std::clamp(v, 0.0, 1.0));
      }
    }
  }
  out.labels = std::move(labels);
  return out;
}

}  // namespace fedxray

#include "training/segmentation_metrics.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "base/error.h"

namespace fedxray {
namespace {

struct Pixel {
  int x, y;
};

std::vector<Pixel> boundary(const uint8_t* mask, int size, int cls) {
  std::vector<Pixel> out;
  auto inside = [&](int x, int y) {
    return x >= 0 && y >= 0 && x < size && y < size && mask[y * size + x] == cls;
  };
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      if (inside(x, y) &&
          !(inside(x - 1, y) && inside(x + 1, y) && inside(x, y - 1) && inside(x, y + 1))) {
        out.push_back({x, y});
      }
    }
  }
  return out;
}

// Distance from each pixel of `from` to the nearest pixel of `to`, appended to `out`.
void nearest_distances(const std::vector<Pixel>& from, const std::vector<Pixel>& to,
                       std::vector<double>& out) {
  for (const Pixel& p : from) {
    int best = INT32_MAX;
    for (const Pixel& q : to) {
      best = std::min(best, (p.x - q.x) * (p.x - q.x) + (p.y - q.y) * (p.y - q.y));
    }
    out.push_back(std::sqrt(double(best)));
  }
}

// numpy.percentile's default (linear interpolation between closest ranks).
double percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double rank = q / 100.0 * double(values.size() - 1);
  const auto lo = std::size_t(std::floor(rank));
  const std::size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (rank - double(lo)) * (values[hi] - values[lo]);
}

}  // namespace

MaskComparison compare_masks(const uint8_t* predicted, const uint8_t* truth, int size, int cls) {
  const std::size_t n = std::size_t(size) * std::size_t(size);
  std::size_t in_predicted = 0, in_truth = 0, both = 0;
  for (std::size_t i = 0; i < n; ++i) {
    in_predicted += predicted[i] == cls;
    in_truth += truth[i] == cls;
    both += predicted[i] == cls && truth[i] == cls;
  }
  MaskComparison m;
  if (in_predicted + in_truth == 0) return m;  // absent from both: undefined
  m.dice = 2.0 * double(both) / double(in_predicted + in_truth);
  m.iou = double(both) / double(in_predicted + in_truth - both);
  if (in_predicted == 0 || in_truth == 0) return m;
  const std::vector<Pixel> p = boundary(predicted, size, cls), t = boundary(truth, size, cls);
  std::vector<double> distances;
  nearest_distances(p, t, distances);
  nearest_distances(t, p, distances);
  m.hausdorff95 = percentile(distances, 95);
  double sum = 0;
  for (double d : distances) sum += d;
  m.mean_surface_distance = sum / double(distances.size());
  return m;
}

ClassificationMetrics compute_segmentation_metrics(const std::vector<uint8_t>& predicted,
                                                   const std::vector<uint8_t>& truth, int classes,
                                                   int size) {
  const std::size_t n = std::size_t(size) * std::size_t(size);
  if (predicted.size() != truth.size() || truth.size() % std::max<std::size_t>(n, 1) != 0) {
    throw Error("segmentation metrics: " + std::to_string(predicted.size()) + " predicted and " +
                std::to_string(truth.size()) + " true pixels for " + std::to_string(size) +
                " px masks");
  }
  ClassificationMetrics m;
  m.task = LabelTask::segmentation;
  m.count = n > 0 ? truth.size() / n : 0;
  m.confusion.assign(std::size_t(classes), std::vector<int64_t>(std::size_t(classes), 0));
  for (std::size_t i = 0; i < truth.size(); ++i) {
    if (truth[i] >= classes || predicted[i] >= classes) {
      throw Error("segmentation metrics: pixel class " +
                  std::to_string(std::max(truth[i], predicted[i])) + " is outside the " +
                  std::to_string(classes) + " classes");
    }
    ++m.confusion[truth[i]][predicted[i]];
  }
  int64_t correct = 0;
  std::vector<double> recall;
  for (int c = 0; c < classes; ++c) {
    int64_t actual = 0;
    for (int k = 0; k < classes; ++k) actual += m.confusion[std::size_t(c)][std::size_t(k)];
    correct += m.confusion[std::size_t(c)][std::size_t(c)];
    recall.push_back(actual > 0
                         ? double(m.confusion[std::size_t(c)][std::size_t(c)]) / double(actual)
                         : kUndefinedMetric);
  }
  m.accuracy = truth.empty() ? kUndefinedMetric : double(correct) / double(truth.size());
  m.balanced_accuracy = mean_of_defined(recall);
  m.macro_f1 = kUndefinedMetric;
  m.roc_auc = kUndefinedMetric;
  std::vector<double> dice, iou, hd95, msd;
  for (std::size_t image = 0; image < m.count; ++image) {
    for (int c = 1; c < classes; ++c) {
      const MaskComparison one =
          compare_masks(predicted.data() + image * n, truth.data() + image * n, size, c);
      dice.push_back(one.dice);
      iou.push_back(one.iou);
      hd95.push_back(one.hausdorff95);
      msd.push_back(one.mean_surface_distance);
    }
  }
  m.dice = mean_of_defined(dice);
  m.iou = mean_of_defined(iou);
  m.hausdorff95 = mean_of_defined(hd95);
  m.mean_surface_distance = mean_of_defined(msd);
  return m;
}

}  // namespace fedxray

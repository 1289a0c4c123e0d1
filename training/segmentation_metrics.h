// Segmentation metrics over a held-out split, torch-free: predicted against true masks of
// `classes` pixel classes (0 = background), image by image and foreground class by class.
//
//   Dice  2|P ∩ T| / (|P| + |T|)     IoU  |P ∩ T| / |P ∪ T|
//   HD95  the 95th percentile (linear interpolation) of the distances from every boundary pixel
//         of P to the nearest boundary pixel of T and from every boundary pixel of T to P, as
//         MedPy's hd95 computes it; MSD the mean of the same distances (average symmetric
//         surface distance). In pixels. A boundary pixel is a mask pixel with a 4-neighbour
//         outside the mask or on the image's edge.
// A class absent from both masks of an image is left out for that image; one present in only
// one of them counts Dice and IoU 0 and has no distances. Each summary is the mean over the
// (image, class) pairs where it is defined; NaN where none is.
#pragma once

#include <cstdint>
#include <vector>

#include "training/classification_metrics.h"

namespace fedxray {

struct MaskComparison {
  double dice = kUndefinedMetric;
  double iou = kUndefinedMetric;
  double hausdorff95 = kUndefinedMetric;
  double mean_surface_distance = kUndefinedMetric;
};

// Class `cls` of two size x size masks.
MaskComparison compare_masks(const uint8_t* predicted, const uint8_t* truth, int size, int cls);

// predicted and truth: count x size x size pixel classes. The result's accuracy and
// balanced_accuracy are per pixel; dice, iou, hausdorff95 and mean_surface_distance the means
// above; confusion the pixel counts [true][predicted].
ClassificationMetrics compute_segmentation_metrics(const std::vector<uint8_t>& predicted,
                                                   const std::vector<uint8_t>& truth, int classes,
                                                   int size);

}  // namespace fedxray

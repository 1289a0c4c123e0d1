// RoundPlan: what the job runner knows about a round when it asks the strategy for the round's
// aggregator — its number, the sites chosen to train it, the most each site's update may weigh,
// the model layout, the current global model and the round deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "wire/model_blob.h"

namespace fedxray {

class ModelFileReader;

struct RoundPlan {
  int round = 0;
  std::vector<std::string> sites;                 // chosen by Strategy::select_sites, sorted
  std::map<std::string, uint64_t> weight_caps;    // site -> min(joined dataset size, job cap)
  wire::ModelManifest layout;                     // the model's layout (no checksum)
  std::shared_ptr<const ModelFileReader> global;  // the global model the sites start from
  std::chrono::steady_clock::time_point deadline;
};

}  // namespace fedxray

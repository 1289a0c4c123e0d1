// Strategy: one federated algorithm, as a handful of verbs the coordinator calls each round.
//
// A new algorithm is a new Strategy implementation; the job runner, transport and store stay as
// they are. Implementations are called from the job runner's thread only, and need no network,
// so they can be unit-tested on their own.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wire/model_blob.h"

namespace fedxray {

class Aggregator;

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // Picks up to `wanted` of the `available` sites (sorted by name) to train `round`.
  virtual std::vector<std::string> select_sites(int round, const std::vector<std::string>& available,
                                                int wanted) = 0;
  // A fresh aggregator for one round; it must accept updates with this layout.
  virtual std::shared_ptr<Aggregator> make_aggregator(const wire::ModelManifest& layout) = 0;
};

}  // namespace fedxray

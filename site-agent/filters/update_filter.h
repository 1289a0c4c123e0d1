// Filters: what a site applies to the model it receives (inbound) and to the update it sends
// (outbound), in the style of NVIDIA FLARE's filters. Each filter is one small, named step that
// can be tested alone; the chain a site runs is listed in one place, site_filters.cc, so that
// hospital IT can read there what is applied to its data.
//
// Contract: check() runs before anything is downloaded and returns a reason to refuse the round
// (empty: fine); it must not change state. active() says whether the filter does anything for
// this job (the site policy may require a filter to be active). apply() runs in chain order;
// it may change the update in place, and throws ShareableError (base/error.h) to refuse the round
// with a reason the coordinator may see, or Error for a local failure. Filters are called from
// the site agent's thread only.
#pragma once

#include <string>

#include "fedxray/proto/fedxray.pb.h"
#include "training/trainer.h"
#include "wire/model_blob.h"

namespace fedxray {

// What one round's filters see.
struct FilterRound {
  const wire::JobSpec& job;
  int round;
  uint64_t dataset_size;  // the site's, as it joined
};

// Applied to the trained update before it leaves the site.
class UpdateFilter {
 public:
  virtual ~UpdateFilter() = default;
  virtual std::string name() const = 0;
  virtual bool active(const wire::JobSpec& job) const = 0;
  virtual std::string check(const FilterRound& round) const { return {}; }
  virtual void apply(const FilterRound& round, const ModelBlob& global, TrainingResult& update) = 0;
};

// Applied to the downloaded global model before the site trains on it.
class GlobalModelFilter {
 public:
  virtual ~GlobalModelFilter() = default;
  virtual std::string name() const = 0;
  // Throws ShareableError to refuse the round.
  virtual void apply(const FilterRound& round, const ModelBlob& global) = 0;
};

}  // namespace fedxray

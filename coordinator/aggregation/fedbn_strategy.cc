#include "coordinator/aggregation/fedbn_strategy.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>

#include "base/error.h"
#include "coordinator/aggregation/aggregator.h"
#include "wire/model_file.h"
#include "wire/update_layout.h"

namespace fedxray {
namespace {

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// In `mean` (the update layout), each "<m>.running_var" holds the pooled second moment: replace
// it with the pooled variance E[x^2] - E[x]^2, clamped at 0 against rounding.
void second_moments_to_variances(ModelBlob& mean) {
  std::map<std::string, const wire::TensorSpec*> by_name;
  for (const auto& t : mean.manifest.tensors()) by_name[t.name()] = &t;
  const std::string var = ".running_var";
  for (const auto& t : mean.manifest.tensors()) {
    if (!ends_with(t.name(), var)) continue;
    auto m = by_name.find(t.name().substr(0, t.name().size() - var.size()) + ".running_mean");
    if (m == by_name.end() || m->second->nbytes() != t.nbytes() ||
        m->second->dtype() != t.dtype()) {
      throw Error("FedBN: " + t.name() + " has no running mean of its shape");
    }
    const std::size_t esize = dtype_size(t.dtype());
    int clamped = 0;
    for (std::size_t i = 0; i < t.nbytes(); i += esize) {
      char* at = mean.bytes.data() + t.offset() + i;
      const double mu = load_element(t.dtype(), mean.bytes.data() + m->second->offset() + i);
      const double var = load_element(t.dtype(), at) - mu * mu;
      clamped += var < 0 ? 1 : 0;
      store_element(t.dtype(), std::max(0.0, var), at);
    }
    if (clamped > 0) {  // e.g. second moments clipped by secure aggregation's per-coordinate clip
      spdlog::warn(
          "FedBN: {} of {}'s pooled variances came out negative and were set to 0 "
          "(second moments clipped or noised?)",
          clamped, t.name());
    }
  }
}

}  // namespace

FedBnStrategy::FedBnStrategy(std::unique_ptr<Strategy> inner)
    : StrategyDecorator(std::move(inner)) {}

void FedBnStrategy::update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                                  ModelFileWriter& next, const std::string& scratch) {
  ModelBlob mean = inner_global(aggregate, previous, aggregate.result_layout(), scratch);
  std::map<std::string, const wire::TensorSpec*> aggregated;
  for (const auto& t : mean.manifest.tensors()) aggregated[t.name()] = &t;
  bool statistics = false;
  for (const auto& name : normalization_tensors(previous.manifest())) {
    statistics = statistics || (is_running_statistic(name) && aggregated.count(name));
  }
  if (statistics) {
    second_moments_to_variances(mean);
    spdlog::info("FedBN: the pooled model carries the sites' pooled batch-norm statistics");
  }
  std::string kept;
  for (const auto& t : previous.manifest().tensors()) {
    auto it = aggregated.find(t.name());
    if (it != aggregated.end()) {
      next.write(mean.bytes.data() + it->second->offset(), std::size_t(t.nbytes()));
    } else {  // a batch-norm tensor the sites keep: the pooled model's stays as it was
      previous.read(t.offset(), std::size_t(t.nbytes()), kept);
      next.write(kept.data(), kept.size());
    }
  }
}

}  // namespace fedxray

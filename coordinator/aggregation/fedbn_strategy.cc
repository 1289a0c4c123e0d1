#include "coordinator/aggregation/fedbn_strategy.h"

#include <spdlog/spdlog.h>

#include <map>

#include "base/error.h"
#include "coordinator/aggregation/aggregator.h"
#include "wire/model_file.h"
#include "wire/update_layout.h"

namespace fedxray {

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
    if (const int clamped = second_moments_to_variances(mean); clamped > 0) {
      // e.g. second moments clipped by secure aggregation's per-coordinate clip
      spdlog::warn(
          "FedBN: {} pooled batch-norm variances came out negative and were set to 0 "
          "(second moments clipped or noised?)",
          clamped);
    }
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

#include "coordinator/aggregation/scaffold_strategy.h"

#include <algorithm>

#include "base/error.h"
#include "coordinator/aggregation/aggregator.h"
#include "wire/model_file.h"
#include "wire/scaffold_controls.h"

namespace fedxray {

ScaffoldStrategy::ScaffoldStrategy(std::unique_ptr<Strategy> inner)
    : StrategyDecorator(std::move(inner)) {}

ModelBlob ScaffoldStrategy::initial_global(ModelBlob model) const {
  // The inner strategy drops the controls of an initial_model file from a SCAFFOLD job: the
  // sites start from c_i = 0, so c starts at 0 too.
  return with_zero_scaffold_controls(inner().initial_global(std::move(model)));
}

std::vector<std::string> ScaffoldStrategy::select_sites(int round,
                                                        const std::vector<std::string>& available,
                                                        int wanted) {
  available_ = available.size();
  return inner().select_sites(round, available, wanted);
}

void ScaffoldStrategy::update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                                     ModelFileWriter& next, const std::string& scratch) {
  const wire::ModelManifest& layout = previous.manifest();
  if (scaffold_control_count(layout) == 0) {
    throw Error("SCAFFOLD: the global model carries no control tensors");
  }
  // The weights as the inner strategy steps them; the controls from the plain mean.
  const ModelBlob stepped = inner_global(aggregate, previous, scratch);
  const ModelBlob mean = aggregate_result(aggregate, scratch + ".mean");
  if (const std::string d = layout_difference(layout, mean.manifest); !d.empty()) {
    throw Error("SCAFFOLD: the round's aggregate differs from the global model: " + d);
  }
  const double fraction =
      available_ == 0 ? 1.0
                      : std::min(1.0, double(aggregate.committed_updates()) / double(available_));
  std::string old, out;
  for (const auto& t : layout.tensors()) {
    if (!is_scaffold_control(t.name())) {
      next.write(stepped.bytes.data() + t.offset(), std::size_t(t.nbytes()));
      continue;
    }
    previous.read(t.offset(), std::size_t(t.nbytes()), old);
    out.resize(old.size());
    const std::size_t esize = dtype_size(t.dtype());
    for (std::size_t i = 0; i < old.size(); i += esize) {
      const double c = load_element(t.dtype(), old.data() + i);
      const double m = load_element(t.dtype(), mean.bytes.data() + t.offset() + i);
      store_element(t.dtype(), c + fraction * (m - c), out.data() + i);
    }
    next.write(out.data(), out.size());
  }
}

}  // namespace fedxray

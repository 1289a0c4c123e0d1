// step_from_aggregate: the loop a server optimizer (FedAvgM, FedOpt) runs to write the next global
// model. For each floating-point element k (counted over the whole model, as element_count()
// does) it calls step(k, previous value, aggregate value) and writes the value it returns;
// integer tensors (counters) take the aggregate as it is. `what` names the optimizer in the
// error thrown when the aggregate's layout differs from the previous model's.
#pragma once

#include <cstddef>
#include <string>

#include "base/error.h"
#include "wire/model_blob.h"
#include "wire/model_file.h"

namespace fedxray {

template <typename Step>
void step_from_aggregate(const std::string& what, const ModelFileReader& previous,
                         const ModelBlob& aggregate, ModelFileWriter& out, Step&& step) {
  const wire::ModelManifest& layout = previous.manifest();
  const std::string problem = layout_difference(layout, aggregate.manifest);
  if (!problem.empty()) throw Error(what + ": the aggregate differs: " + problem);
  std::string old, next;
  std::size_t at = 0;
  for (const auto& t : layout.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    const std::size_t n = std::size_t(t.nbytes() / esize);
    next.assign(aggregate.bytes, std::size_t(t.offset()), std::size_t(t.nbytes()));
    if (t.dtype() == wire::FLOAT32 || t.dtype() == wire::FLOAT64) {
      previous.read(t.offset(), std::size_t(t.nbytes()), old);
      for (std::size_t i = 0; i < n; ++i, ++at) {
        const double p = load_element(t.dtype(), old.data() + i * esize);
        const double a = load_element(t.dtype(), next.data() + i * esize);
        store_element(t.dtype(), step(at, p, a), next.data() + i * esize);
      }
    } else {
      at += n;
    }
    out.write(next.data(), next.size());
  }
}

}  // namespace fedxray

#include "coordinator/aggregation/server_momentum.h"

#include "coordinator/aggregation/server_step.h"

#include <cstring>

#include "base/error.h"
#include "wire/model_file.h"

namespace fedxray {

ServerMomentum::ServerMomentum(double momentum, double learning_rate)
    : momentum_(momentum), learning_rate_(learning_rate) {}

void ServerMomentum::apply(const ModelFileReader& previous, const ModelBlob& average,
                           ModelFileWriter& out) {
  if (buffer_.empty()) buffer_.assign(element_count(previous.manifest()), 0.0f);
  step_from_aggregate("server momentum", previous, average, out,
                      [this](std::size_t at, double p, double a) {
                        buffer_[at] = float(momentum_ * buffer_[at] + (a - p));
                        return p + learning_rate_ * buffer_[at];
                      });
}

void ServerMomentum::resume(const ModelFileReader& previous, const ModelFileReader& next) {
  const wire::ModelManifest& layout = previous.manifest();
  const std::string problem = layout_difference(layout, next.manifest());
  if (!problem.empty()) throw Error("server momentum: the two checkpoints differ: " + problem);
  buffer_.assign(element_count(layout), 0.0f);
  std::string a, b;
  std::size_t at = 0;
  for (const auto& t : layout.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    const std::size_t n = std::size_t(t.nbytes() / esize);
    if (t.dtype() != wire::FLOAT32 && t.dtype() != wire::FLOAT64) {
      at += n;
      continue;
    }
    previous.read(t.offset(), std::size_t(t.nbytes()), a);
    next.read(t.offset(), std::size_t(t.nbytes()), b);
    for (std::size_t i = 0; i < n; ++i, ++at) {
      buffer_[at] = float((load_element(t.dtype(), b.data() + i * esize) -
                           load_element(t.dtype(), a.data() + i * esize)) /
                          learning_rate_);
    }
  }
}

}  // namespace fedxray

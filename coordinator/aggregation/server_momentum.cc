#include "coordinator/aggregation/server_momentum.h"

#include <cstring>

#include "base/error.h"
#include "wire/model_file.h"

namespace fedxray {

ServerMomentum::ServerMomentum(double momentum, double learning_rate)
    : momentum_(momentum), learning_rate_(learning_rate) {}

void ServerMomentum::apply(const ModelFileReader& previous, const ModelBlob& average,
                           ModelFileWriter& out) {
  const wire::ModelManifest& layout = previous.manifest();
  const std::string problem = layout_difference(layout, average.manifest);
  if (!problem.empty()) throw Error("server momentum: the averaged model differs: " + problem);
  if (buffer_.empty()) buffer_.assign(element_count(layout), 0.0f);
  std::string old, next;
  std::size_t at = 0;
  for (const auto& t : layout.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    const std::size_t n = std::size_t(t.nbytes() / esize);
    previous.read(t.offset(), std::size_t(t.nbytes()), old);
    next.assign(average.bytes, std::size_t(t.offset()), std::size_t(t.nbytes()));
    if (t.dtype() == wire::FLOAT32 || t.dtype() == wire::FLOAT64) {
      for (std::size_t i = 0; i < n; ++i, ++at) {
        const double p = load_element(t.dtype(), old.data() + i * esize);
        const double a = load_element(t.dtype(), next.data() + i * esize);
        buffer_[at] = float(momentum_ * buffer_[at] + (a - p));
        store_element(t.dtype(), p + learning_rate_ * buffer_[at], next.data() + i * esize);
      }
    } else {
      at += n;  // counters and other integers: the average as it is
    }
    out.write(next.data(), next.size());
  }
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
                           load_element(t.dtype(), a.data() + i * esize)) / learning_rate_);
    }
  }
}

}  // namespace fedxray

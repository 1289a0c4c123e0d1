// AdaptiveServerOptimizer: FedAdam, FedYogi and FedAdagrad (Reddi et al., "Adaptive Federated
// Optimization", ICLR 2021, Algorithm 2). The round's aggregate minus the previous global model
// is a pseudo-gradient D; per floating-point element:
//   m <- beta1 m + (1 - beta1) D
//   v <- v + D^2                               (adagrad)
//   v <- beta2 v + (1 - beta2) D^2             (adam)
//   v <- v - (1 - beta2) D^2 sign(v - D^2)     (yogi)
//   next = previous + eta m / (sqrt(v) + tau)
// m starts at 0 and v at tau^2 (the paper's v_{-1} >= tau^2). Integer tensors (counters) take the
// aggregate as it is. State: two floats per element, in memory; save() writes it to a file that
// restore() reads back after a coordinator restart (it cannot be rebuilt from checkpoints).
#pragma once

#include <string>
#include <vector>

#include "config/job_config.h"
#include "wire/model_blob.h"

namespace fedxray {

class ModelFileReader;
class ModelFileWriter;

class AdaptiveServerOptimizer {
 public:
  explicit AdaptiveServerOptimizer(ServerOptimizerConfig config);
  // Writes the next global model, given the previous one and this round's aggregate.
  void apply(const ModelFileReader& previous, const ModelBlob& aggregate, ModelFileWriter& out);
  // Writes m and v (with the kind, element count and a checksum) to `path` atomically.
  void save(const std::string& path) const;
  // Reads what save() wrote for a model of `layout`. Returns "" on success; otherwise why the
  // file cannot be used (missing, another kind or size, checksum), and the state is left as is.
  std::string restore(const std::string& path, const wire::ModelManifest& layout);

 private:
  ServerOptimizerConfig config_;
  std::vector<float> m_, v_;
};

}  // namespace fedxray

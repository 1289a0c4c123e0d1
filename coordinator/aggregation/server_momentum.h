// ServerMomentum: FedAvg with server momentum (FedAvgM; Hsu, Qi and Brown 2019, "Measuring the
// effects of non-identical data distribution for federated visual classification"). The round's
// averaged model is treated as a pseudo-gradient step from the previous global model:
//   m <- beta * m + (average - previous);   next = previous + server_learning_rate * m.
// With beta = 0 and rate 1 this is plain FedAvg. Momentum helps when sites' data differ (label
// skew): successive rounds' average moves keep their common direction while site-specific
// drift partly cancels. Integer tensors (counters) take the average as it is.
// The momentum buffer (one float per element) lives in memory; after a coordinator restart,
// resume() rebuilds it from the last two checkpoints (m = (next - previous) / rate).
#pragma once

#include <vector>

#include "wire/model_blob.h"

namespace fedxray {

class ModelFileReader;
class ModelFileWriter;

class ServerMomentum {
 public:
  ServerMomentum(double momentum, double learning_rate);
  // Writes the next global model, given the previous one and this round's average.
  void apply(const ModelFileReader& previous, const ModelBlob& average, ModelFileWriter& out);
  // Rebuilds the buffer from two consecutive global models written by apply().
  void resume(const ModelFileReader& previous, const ModelFileReader& next);

 private:
  double momentum_;
  double learning_rate_;
  std::vector<float> buffer_;
};

}  // namespace fedxray

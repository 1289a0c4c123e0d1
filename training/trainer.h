// Trainer: what a site does with one round's global model — train on local data, evaluate on
// the local held-out split, and hand back the new weights with the sample count that weighs them.
//
// Contract: train() is called from the site agent's thread, one round at a time. It calls
// `progress` now and then; when progress returns false (the round is over for this site) it
// throws TrainingCancelled promptly. The returned model has the same layout as `global` and is
// sealed (SHA-256 set). The trainer never sends anything anywhere: only the agent talks to the
// coordinator, and only weights and aggregate metrics leave the site.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "fedxray/proto/fedxray.pb.h"
#include "wire/model_blob.h"

namespace fedxray {

struct TrainingResult {
  ModelBlob model;
  uint64_t samples = 0;
  wire::LocalMetrics metrics;
};

using TrainingProgress = std::function<bool(const std::string& phase, double fraction)>;

class TrainingCancelled : public Error {
 public:
  TrainingCancelled() : Error("training cancelled: the round is over for this site") {}
};

class Trainer {
 public:
  virtual ~Trainer() = default;
  virtual std::vector<std::string> supported_models() const = 0;
  virtual uint64_t dataset_size() const = 0;
  // `round` (1-based) lets training vary its batch order and learning rate from round to round.
  virtual TrainingResult train(const wire::JobSpec& job, int round, const ModelBlob& global,
                               const TrainingProgress& progress) = 0;
  // The update of `round` reached the coordinator. State that must match what the coordinator
  // has seen (SCAFFOLD's site control) is kept only now, so a round whose upload failed or was
  // refused leaves it as it was.
  virtual void round_uploaded(const std::string& job_id, int round) {}
  // The job is over: free whatever was kept for it (optimizer state, loaded images).
  virtual void end_job(const std::string& job_id) {}
};

}  // namespace fedxray

// CheckpointStore: the coordinator's files for one job under <state_dir>/<job>/.
//
//   global-round-NNNN.fxm (+ .sha256)   the global model after round N (round 0 = initial)
//   global-round-NNNN.strategy          the strategy's server state after round N, if it keeps
//                                       one that checkpoints cannot rebuild (strategy.h)
//   pooled.fxm (+ .sha256)              the final pooled model, once the job has finished
//   metrics.jsonl                       one JSON object per round, appended and fsynced
//   journal/                            aggregator undo journals (anonymous temp files)
//
// Every model file is published atomically (temp file, fsync, rename): a crash leaves the
// previous round's file intact, never a half-written one. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wire/model_file.h"

namespace fedxray {

class CheckpointStore {
 public:
  CheckpointStore(const std::string& state_dir, const std::string& job);

  const std::string& dir() const { return dir_; }
  std::string journal_dir() const;
  std::string model_path(int round) const;
  std::string strategy_state_path(int round) const;
  std::string pooled_path() const;
  std::string metrics_path() const;

  void append_metrics(const nlohmann::json& record);
  // Replaces metrics.jsonl (atomically) with these records, one per line.
  void rewrite_metrics(const std::vector<nlohmann::json>& records);
  // Publishes the model of `round` as pooled.fxm.
  void publish_pooled(int round);

 private:
  std::string dir_;
  std::mutex mu_;
};

}  // namespace fedxray

// StreamingFedAvg: the FedAvg Aggregator — the pooled model is the sample-weighted mean of the
// committed updates, sum(w_i * x_i) / sum(w_i), accumulated in double precision.
//
// Each byte range is folded the moment it arrives (acc[i] += w * x[i]); an UndoJournal per
// upload keeps the folded bytes on disk so an upload that fails half way can be subtracted
// again. Should even that undo fail (disk error), the aggregate is poisoned and write_result()
// refuses, so the round fails instead of publishing a wrong model. Integer tensors (e.g. batch-norm counters) are averaged and
// rounded to the nearest integer. Memory: 8 bytes per model element plus one chunk per upload.
#pragma once

#include <atomic>
#include <mutex>
#include <set>
#include <vector>

#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/undo_journal.h"

namespace fedxray {

class FedAvgSink;

class StreamingFedAvg : public Aggregator {
 public:
  // Throws fedxray::Error if the layout is malformed.
  StreamingFedAvg(const wire::ModelManifest& layout, std::shared_ptr<UndoJournalPool> journals);
  // Convenience: a private journal pool in `journal_dir`.
  StreamingFedAvg(const wire::ModelManifest& layout, const std::string& journal_dir);

  std::unique_ptr<UpdateSink> begin_update(const std::string& site, double weight) override;
  void close() override;
  int committed_updates() const override;
  double committed_weight() const override;
  const wire::ModelManifest& result_layout() const override { return layout_; }
  void write_result(ModelFileWriter& out) const override;

 private:
  friend class FedAvgSink;
  // Adds weight * bytes (whole elements of one tensor) into the accumulator.
  void add(std::size_t tensor, uint64_t first_element, const char* data, std::size_t count,
           double weight);
  template <typename T>
  void add_checked(const wire::TensorSpec& t, double* acc, const char* data, std::size_t count,
                   double weight);  // mu_ held
  void on_commit(double weight);
  void poison(const std::string& why);

  wire::ModelManifest layout_;
  std::shared_ptr<UndoJournalPool> journals_;
  // Lock order: sinks_mu_, then a sink's own mutex, then mu_.
  std::mutex sinks_mu_;
  std::set<FedAvgSink*> open_sinks_;
  std::atomic<bool> closed_{false};
  std::vector<uint64_t> element_base_;  // index of each tensor's first element in acc_
  mutable std::mutex mu_;
  std::vector<double> acc_;
  int committed_ = 0;
  double weight_ = 0;
  std::string poisoned_;
};

}  // namespace fedxray

// RobustAggregator: an Aggregator whose pooled model resists a few sites sending arbitrary
// updates (scaled, sign-flipped, random), for plaintext jobs.
//
//   median        coordinate-wise median of the committed updates (Yin et al., ICML 2018)
//   trimmed_mean  coordinate-wise: the floor(beta n) lowest and highest values dropped, the rest
//                 averaged (Yin et al., ICML 2018)
//   multi_krum    each update scored by the summed squared distance to its n - f - 2 nearest
//                 others; the mean of the m best-scored (m = n - f unless set) (Blanchard et al.,
//                 NeurIPS 2017)
//
// Every rule gives each site one vote and ignores the sample weights: a hostile site could claim
// a large dataset (up to the size it joined with and max_site_samples) to weigh more. Integer
// tensors (counters) go through the same rule and are rounded. committed_weight() is the weight
// of every committed update, including those a rule then discarded.
//
// Unlike FedAvg these rules need every update whole, so each committed update is kept in its undo
// journal (an unlinked temp file in the journal folder: disk = model size x updates, memory
// O(model + updates x 64 Ki elements)). An update with NaN or infinite values is refused at
// commit; one that breaks off is dropped with its journal. Same contract as aggregator.h.
#pragma once

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "config/job_config.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/aggregation/undo_journal.h"

namespace fedxray {

class RobustSink;

class RobustAggregator : public Aggregator {
 public:
  // Throws Error when the layout is malformed or the rule unknown.
  RobustAggregator(const wire::ModelManifest& layout, RobustAggregationConfig rule,
                   std::shared_ptr<UndoJournalPool> journals);
  ~RobustAggregator() override;

  std::unique_ptr<UpdateSink> begin_update(const std::string& site, double weight) override;
  void close() override;
  int committed_updates() const override;
  double committed_weight() const override;
  const wire::ModelManifest& result_layout() const override { return layout_; }
  // Throws Error when close() has not run, nothing was committed, or Multi-Krum has fewer than
  // 2f + 3 updates to choose from.
  void write_result(ModelFileWriter& out) const override;

  // After write_result() with multi_krum: the sites whose updates were averaged (sorted).
  std::vector<std::string> krum_selection() const;

 private:
  friend class RobustSink;
  struct Kept {
    std::string site;
    double weight;
    std::unique_ptr<UndoJournal> bytes;
  };
  void keep(const std::string& site, double weight, std::unique_ptr<UndoJournal> bytes);
  std::vector<std::size_t> select_krum() const;  // mu_ held

  wire::ModelManifest layout_;
  RobustAggregationConfig rule_;
  std::shared_ptr<UndoJournalPool> journals_;
  mutable std::mutex sinks_mu_;
  std::set<RobustSink*> open_sinks_;
  bool closed_ = false;
  mutable std::mutex mu_;
  std::vector<Kept> kept_;
  mutable std::vector<std::string> krum_selection_;
};

}  // namespace fedxray

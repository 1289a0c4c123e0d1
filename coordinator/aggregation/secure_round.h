// SecureRound: one round of a job that uses secure aggregation, on the coordinator.
//
// It is the round's Aggregator (the job runner streams each site's masked upload into it like
// any update) and it runs the key and share exchanges of the protocol (privacy/SecAggServer):
// step() takes one site's message for a stage and returns when that stage has closed — every
// site still in the round has posted, or the stage timed out — with what the site needs next.
//
// Stages: key adverts (close when every selected site has trained and advertised, or at the
// round deadline), sealed shares, share receipts (each closes stage_timeout_s after the previous
// one at the latest), masked input (the uploads; closed by close()), and reveals (close() waits
// for the survivors' shares up to stage_timeout_s, then removes the masks).
//
// The masked uploads are summed in Z_2^32 as they arrive; an upload that breaks off is taken
// back out through an undo journal. What the coordinator ends up with is the sum over surviving
// sites of weight x clipped delta in fixed point, plus the sum of the weights; write_result()
// writes previous global + sum / total weight. It never sees a single site's update.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "coordinator/aggregation/aggregator.h"
#include "fedxray/proto/fedxray.pb.h"
#include "privacy/secagg/fixed_point.h"
#include "privacy/secagg/secure_aggregation_server.h"

namespace fedxray {

class ModelFileReader;
class UndoJournalPool;

struct SecureRoundSettings {
  SecAggRound params;
  FixedPointCode code;
  std::string ca_pem;                 // consortium CA: checks the sites' signed key adverts
  double stage_timeout_s = 60;
  std::chrono::steady_clock::time_point advert_deadline;  // the round deadline
  // The round's update layout (RoundPlan::layout): the global model's tensors that the sites
  // encode, in order (under FedBN not all of them).
  wire::ModelManifest layout;
};

class SecureRound : public Aggregator {
 public:
  SecureRound(SecureRoundSettings settings, std::shared_ptr<const ModelFileReader> global,
              std::shared_ptr<UndoJournalPool> journals);
  ~SecureRound() override;

  // What the selected sites are told with their assignment.
  wire::SecAggRoundParams wire_params() const;
  // The layout of a masked upload: one INT32 tensor "secagg.masked" of params.vector_words.
  const wire::ModelManifest& masked_layout() const { return masked_layout_; }

  // One site's step (see above). Blocks; returns a reply with `excluded` set when the site is out
  // of the secure round. Throws Error when the round was aborted.
  wire::SecAggReply step(const std::string& site, const wire::SecAggRequest& request);
  // The site left the round (failed, silent, refused): no stage waits for it any longer.
  void site_failed(const std::string& site);
  // Wakes every waiting step with an error (the job is stopping).
  void abort(const std::string& why);

  // Aggregator. begin_update refuses (throws Error) a site without a masking plan.
  std::unique_ptr<UpdateSink> begin_update(const std::string& site, double weight) override;
  void close() override;
  int committed_updates() const override;
  double committed_weight() const override;
  const wire::ModelManifest& result_layout() const override;
  void write_result(ModelFileWriter& out) const override;

  // After close(): who was masked, dropped or excluded, and whether unmasking succeeded.
  SecAggReport report() const;

 private:
  class MaskedSink;
  enum Stage { kAdverts = 0, kShares = 1, kReceipts = 2, kStages = 3 };

  void wait_for_stage(Stage stage, std::unique_lock<std::mutex>& lock);
  bool stage_complete(Stage stage) const;
  // Adds (or subtracts) `count` little-endian words at `bytes` into the ring sum.
  void fold_words(uint64_t first_word, const char* bytes, std::size_t count, bool subtract);

  SecureRoundSettings settings_;
  std::shared_ptr<const ModelFileReader> global_;
  std::shared_ptr<UndoJournalPool> journals_;
  wire::ModelManifest masked_layout_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  SecAggServer server_;
  std::set<std::string> posted_[kStages];
  bool closed_[kStages] = {false, false, false};
  std::chrono::steady_clock::time_point closed_at_[kStages];
  std::set<std::string> failed_;
  std::set<std::string> open_sinks_;
  std::set<MaskedSink*> sinks_;
  bool input_closed_ = false;
  bool unmask_ready_ = false;
  UnmaskRequest unmask_request_;
  std::set<std::string> revealed_;
  std::string aborted_;
  SecAggReport report_;
  int committed_ = 0;

  mutable std::mutex sum_mu_;
  std::vector<uint32_t> ring_sum_;   // masked inputs while open; the unmasked sum after close()
  double total_weight_ = 0;
};

}  // namespace fedxray

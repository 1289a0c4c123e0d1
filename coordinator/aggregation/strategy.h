// Strategy: one federated algorithm, as the verbs the job runner calls each round (in the style
// of Flower's Strategy): configure a round (select_sites), aggregate its updates
// (make_aggregator), update the global model (update_global), and pick up again after a
// coordinator restart (resume).
//
// A new algorithm (FedOpt, a robust aggregator, ...) is a new Strategy, or a decorator around
// one: ServerMomentumStrategy owns a server-optimizer step, SecureAggregationStrategy swaps the
// aggregator for a masked one. The job runner, transport and store stay as they are.
// make_job_strategy() builds the one a job's configuration asks for. Implementations are called
// from the job runner's thread only and need no network, so they can be unit-tested alone.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "coordinator/aggregation/round_plan.h"
#include "wire/model_blob.h"

namespace fedxray {

class Aggregator;
class ModelFileReader;
class ModelFileWriter;
struct JobConfig;

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The global model a job starts from, given the model itself (initialised from the job's
  // seed or read from its initial_model file, which may be a SCAFFOLD job's pooled model). The
  // default drops any SCAFFOLD control tensors; SCAFFOLD then appends zero ones.
  virtual ModelBlob initial_global(ModelBlob model) const;
  // Picks up to `wanted` of the `available` sites (sorted by name) to train `round`.
  virtual std::vector<std::string> select_sites(int round, const std::vector<std::string>& available,
                                                int wanted) = 0;
  // A fresh aggregator for the planned round; it accepts updates with plan.layout (a secure
  // round's masked layout: SecureRound::masked_layout()). plan.layout is the global model's
  // layout or, under FedBN, the part of it that sites send (wire/update_layout.h).
  virtual std::shared_ptr<Aggregator> make_aggregator(const RoundPlan& plan) = 0;
  // Writes the next global model into `next` from the round's closed `aggregate` and the
  // `previous` global model (`next` has the previous model's layout, which may hold tensors the
  // aggregate lacks: FedBN). `scratch` is a path the strategy may use for a side file. The
  // default publishes the aggregate as it is (FedAvg).
  virtual void update_global(const Aggregator& aggregate, const ModelFileReader& previous,
                             ModelFileWriter& next, const std::string& scratch);
  // After a restart that resumes at `current`, with `before` the global model of the round
  // before it: rebuild any server-side state. The default keeps none.
  virtual void resume(const ModelFileReader& before, const ModelFileReader& current) {}
  // Whether resume() needs `before` (else a missing or corrupt one is no loss).
  virtual bool keeps_server_state() const { return false; }
  // Server state that checkpoints cannot rebuild (FedOpt's moments). After a round's model is
  // published the runner calls save_state() with a path beside that checkpoint (throws Error:
  // the round fails); a restarted coordinator that resumes after that round calls
  // restore_state() with the same path first, and resume() only when it returns a reason why
  // not (missing, corrupt, another strategy's). The defaults keep nothing in a file.
  virtual void save_state(const std::string& path) const {}
  virtual std::string restore_state(const std::string& path, const wire::ModelManifest& layout) {
    return name() + " keeps no state file";
  }
};

// FedAvg (seeded site selection, streaming weighted mean, undo journals in `journal_dir`), its
// mean replaced by a robust rule when the job sets robust_aggregation, batch-norm tensors kept
// at the sites under FedBN (fedbn), wrapped in an adaptive
// server optimizer (server_optimizer: FedAdam, FedYogi, FedAdagrad) or in server momentum (when
// the job sets server_momentum or server_learning_rate), in SCAFFOLD's control update (scaffold),
// and in secure aggregation when the job
// enables it (`ca_pem`: the consortium CA certificate that checks the sites' signed keys; throws
// Error when such a job is given none).
std::unique_ptr<Strategy> make_job_strategy(const JobConfig& job, const std::string& journal_dir,
                                            const std::string& ca_pem = "");

}  // namespace fedxray

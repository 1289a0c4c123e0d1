#include "coordinator/aggregation/strategy.h"

#include "config/job_config.h"
#include "coordinator/aggregation/aggregator.h"
#include "base/error.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/aggregation/fedbn_strategy.h"
#include "coordinator/aggregation/fedopt_strategy.h"
#include "coordinator/aggregation/robust_aggregation_strategy.h"
#include "coordinator/aggregation/scaffold_strategy.h"
#include "coordinator/aggregation/secure_aggregation_strategy.h"
#include "coordinator/aggregation/server_momentum_strategy.h"
#include "wire/model_file.h"
#include "wire/scaffold_controls.h"

namespace fedxray {

ModelBlob Strategy::initial_global(ModelBlob model) const {
  return without_scaffold_controls(model);
}

void Strategy::update_global(const Aggregator& aggregate, const ModelFileReader&,
                             ModelFileWriter& next, const std::string&) {
  aggregate.write_result(next);
}

std::unique_ptr<Strategy> make_job_strategy(const JobConfig& job, const std::string& journal_dir,
                                            const std::string& ca_pem) {
  std::unique_ptr<Strategy> strategy = std::make_unique<FedAvgStrategy>(job.seed, journal_dir);
  if (!job.robust_aggregation.rule.empty()) {
    if (job.secure_aggregation.enabled) {  // read_job_config refuses this too, with file and line
      throw Error("job " + job.name + ": robust aggregation (" + job.robust_aggregation.rule +
                  ") needs each site's own update, which secure aggregation hides");
    }
    strategy = std::make_unique<RobustAggregationStrategy>(std::move(strategy),
                                                           job.robust_aggregation, journal_dir);
  }
  if (job.fedbn.enabled) strategy = std::make_unique<FedBnStrategy>(std::move(strategy));
  if (!job.server_optimizer.kind.empty()) {
    strategy = std::make_unique<FedOptStrategy>(std::move(strategy), job.server_optimizer);
  } else if (job.server_momentum > 0 || job.server_learning_rate != 1.0) {
    strategy = std::make_unique<ServerMomentumStrategy>(std::move(strategy), job.server_momentum,
                                                        job.server_learning_rate);
  }
  if (job.scaffold) strategy = std::make_unique<ScaffoldStrategy>(std::move(strategy));
  if (job.secure_aggregation.enabled) {
    strategy = std::make_unique<SecureAggregationStrategy>(
        std::move(strategy), job.name, job.secure_aggregation, ca_pem, journal_dir);
  }
  return strategy;
}

}  // namespace fedxray

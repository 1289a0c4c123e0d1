// PrivacyAccounting: the coordinator's client-level differential-privacy account of a job. Each
// published round is one step of the sampled Gaussian mechanism at the job's noise multiplier,
// with the sampling rate sites_per_round / population; the round's record gets the (epsilon,
// delta) spent so far under "privacy". On resume the recorded rounds are replayed.
#pragma once

#include "config/job_config.h"
#include "coordinator/round/round_observer.h"
#include "privacy/dp/rdp_accountant.h"

namespace fedxray {

class PrivacyAccounting : public RoundObserver {
 public:
  explicit PrivacyAccounting(GaussianMechanismConfig mechanism) : mechanism_(mechanism) {}
  void round_published(const PublishedRound& round, nlohmann::json& record) override;
  void replay(const nlohmann::json& record) override;

 private:
  GaussianMechanismConfig mechanism_;
  RdpAccountant accountant_;
};

}  // namespace fedxray

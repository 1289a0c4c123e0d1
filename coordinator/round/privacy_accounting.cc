#include "coordinator/round/privacy_accounting.h"

#include <algorithm>

namespace fedxray {

void PrivacyAccounting::round_published(const PublishedRound& round, nlohmann::json& record) {
  const double population =
      double(std::max<std::size_t>(std::size_t(round.sites_per_round), round.population));
  const double q = std::min(1.0, double(round.sites_per_round) / population);
  accountant_.add_sampled_gaussian(q, mechanism_.noise_multiplier);
  const auto spent = accountant_.epsilon(mechanism_.delta);
  record["privacy"] = {{"epsilon", spent.epsilon}, {"delta", spent.delta},
                       {"rdp_order", spent.order}, {"sampling_rate", q},
                       {"noise_multiplier", mechanism_.noise_multiplier},
                       {"clip_norm", mechanism_.clip_norm}};
}

void PrivacyAccounting::replay(const nlohmann::json& record) {
  if (!record.contains("privacy")) return;
  accountant_.add_sampled_gaussian(record["privacy"]["sampling_rate"].get<double>(),
                                   mechanism_.noise_multiplier);
}

std::vector<std::unique_ptr<RoundObserver>> make_round_observers(const JobConfig& job) {
  std::vector<std::unique_ptr<RoundObserver>> observers;
  if (job.differential_privacy.enabled) {
    observers.push_back(std::make_unique<PrivacyAccounting>(job.differential_privacy));
  }
  return observers;
}

}  // namespace fedxray

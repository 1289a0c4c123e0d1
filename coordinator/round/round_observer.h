// RoundObserver: told of every round the job runner publishes, and of the recorded ones when a
// coordinator resumes a job; adds what it tracks to the round's record. The differential-privacy
// accountant is one (privacy_accounting.h). Called on the job runner's thread only.
#pragma once

#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

namespace fedxray {

struct JobConfig;

struct PublishedRound {
  int number = 0;
  int sites_per_round = 0;
  std::size_t population = 0;  // sites this coordinator admits (or, admitting any, has seen)
};

class RoundObserver {
 public:
  virtual ~RoundObserver() = default;
  virtual void round_published(const PublishedRound& round, nlohmann::json& record) = 0;
  // A round recorded before a restart, oldest first.
  virtual void replay(const nlohmann::json& record) {}
};

// The observers a job's configuration asks for.
std::vector<std::unique_ptr<RoundObserver>> make_round_observers(const JobConfig& job);

}  // namespace fedxray

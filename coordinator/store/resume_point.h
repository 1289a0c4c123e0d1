// ResumePoint: where a job picks up after the coordinator was stopped or killed.
//
// Reads the job's rounds from the state database. Rounds left "running" were interrupted: they
// are marked so and run again from the start. The last completed round whose checkpoint still
// verifies (file checksum, and the SHA-256 the database recorded when it was published) is the
// resume point; a corrupt or missing newer checkpoint is set aside as "<file>.corrupt", its round
// and any later one are marked "discarded" and run again, and each such step is listed in
// `notes` so the operator is told. Round 0 is the initial model.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fedxray {

class CheckpointStore;
class StateDatabase;

struct ResumePoint {
  int round = 0;                       // last completed round with a good checkpoint (0: none)
  std::string model_sha256;            // of that round's model ("" when round 0 must be written)
  std::vector<nlohmann::json> records; // metrics records of rounds 1..round, in order
  std::vector<std::string> notes;      // what was interrupted, discarded or fallen back from
};

ResumePoint find_resume_point(StateDatabase& state, const CheckpointStore& store,
                              const std::string& job);

// The SHA-256 of a model file's tensor bytes, after checking the file against it; "" (and the
// reason in `problem`) when the file is missing or corrupt.
std::string verified_model_sha256(const std::string& path, std::string& problem);

}  // namespace fedxray

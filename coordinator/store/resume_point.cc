#include "coordinator/store/resume_point.h"

#include <filesystem>

#include "base/error.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/store/state_database.h"
#include "wire/model_file.h"

namespace fedxray {

std::string verified_model_sha256(const std::string& path, std::string& problem) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    problem = "the file is missing";
    return {};
  }
  try {
    ModelFileReader reader(path);
    reader.read_all();  // verifies the checksum over every byte
    return reader.manifest().sha256();
  } catch (const Error& e) {
    problem = e.what();
    return {};
  }
}

ResumePoint find_resume_point(StateDatabase& state, const CheckpointStore& store,
                              const std::string& job) {
  ResumePoint p;
  for (int r : state.mark_interrupted(job, "interrupted: the coordinator stopped during this "
                                           "round; it runs again from its start")) {
    p.notes.push_back("round " + std::to_string(r) + " was interrupted and runs again");
  }
  std::vector<RoundRow> completed;
  for (auto& row : state.rounds(job)) {
    if (row.status != "completed") continue;
    if (row.round != int(completed.size()) + 1) break;  // only an unbroken run 1..R counts
    completed.push_back(std::move(row));
  }
  while (!completed.empty()) {
    const RoundRow& last = completed.back();
    const std::string path = store.model_path(last.round);
    std::string problem;
    const std::string sha = verified_model_sha256(path, problem);
    if (!sha.empty() && sha == last.model_sha256) break;
    if (problem.empty()) {
      problem = "its SHA-256 " + sha + " differs from the " + last.model_sha256 +
                " recorded when it was published";
    }
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) std::filesystem::rename(path, path + ".corrupt", ec);
    const std::string why = "checkpoint " + path + " is unusable (" + problem +
                            "); falling back to round " + std::to_string(last.round - 1);
    state.discard_rounds_from(job, last.round, why);
    p.notes.push_back(why);
    completed.pop_back();
  }
  p.round = completed.empty() ? 0 : completed.back().round;
  if (p.round > 0) {
    p.model_sha256 = completed.back().model_sha256;
  } else {
    std::string problem;
    p.model_sha256 = verified_model_sha256(store.model_path(0), problem);
  }
  for (const auto& row : completed) p.records.push_back(row.record);
  return p;
}

}  // namespace fedxray

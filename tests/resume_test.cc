// Where a job resumes after the coordinator stopped: interrupted rounds run again, a corrupt or
// missing newest checkpoint falls back to the previous good one, and the runner picks up there.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "wire/model_file.h"
#include "coordinator/store/checkpoint_store.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/store/resume_point.h"
#include "coordinator/store/state_database.h"
#include "tests/coordinator_fixture.h"

using namespace fedxray;

namespace {

// A job with `completed` published rounds and round completed+1 left running, as a killed
// coordinator leaves it.
struct KilledJob {
  explicit KilledJob(int completed) : state(std::make_shared<StateDatabase>(dir.path)),
                                      store(dir.path, "j") {
    state->add_job("j", "", 5, "test");
    std::string previous;
    for (int r = 0; r <= completed; ++r) {
      write_model_file(store.model_path(r), testing::make_model({16, 100}, uint64_t(r + 1)));
      const std::string sha = ModelFileReader(store.model_path(r)).manifest().sha256();
      if (r > 0) {
        state->round_started("j", r, {"site-a"});
        nlohmann::json record = {{"job", "j"}, {"round", r}, {"status", "completed"},
                                 {"model_sha256", sha}, {"previous_model_sha256", previous}};
        state->round_finished("j", r, record, previous);
      }
      previous = sha;
    }
    state->round_started("j", completed + 1, {"site-a"});
  }
  testing::TempDir dir;
  std::shared_ptr<StateDatabase> state;
  CheckpointStore store;
};

}  // namespace

TEST_CASE("a job resumes after its last completed round, the interrupted one runs again") {
  KilledJob k(3);
  ResumePoint p = find_resume_point(*k.state, k.store, "j");
  CHECK(p.round == 3);
  CHECK(p.model_sha256 == ModelFileReader(k.store.model_path(3)).manifest().sha256());
  REQUIRE(p.records.size() == 3);
  CHECK(p.records[2]["round"] == 3);
  REQUIRE(p.notes.size() == 1);
  CHECK_THAT(p.notes[0], Catch::Contains("round 4 was interrupted"));
  CHECK(k.state->rounds("j")[3].status == "interrupted");
}

TEST_CASE("a corrupt newest checkpoint falls back to the previous good one, saying so") {
  KilledJob k(3);
  {
    std::fstream f(k.store.model_path(3), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-80, std::ios::end);
    f.put('\x7f');
  }
  ResumePoint p = find_resume_point(*k.state, k.store, "j");
  CHECK(p.round == 2);
  REQUIRE(p.notes.size() == 2);
  CHECK_THAT(p.notes[1], Catch::Contains("global-round-0003.fxm is unusable") &&
                             Catch::Contains("falling back to round 2"));
  CHECK(std::filesystem::exists(k.store.model_path(3) + ".corrupt"));
  CHECK_FALSE(std::filesystem::exists(k.store.model_path(3)));
  CHECK(k.state->rounds("j")[2].status == "discarded");
  CHECK(k.state->job("j")->completed_rounds == 2);
}

TEST_CASE("a missing checkpoint, or one replaced by another model, is not resumed from") {
  KilledJob k(3);
  SECTION("missing") {
    std::filesystem::remove(k.store.model_path(3));
    std::filesystem::remove(k.store.model_path(2));
    ResumePoint p = find_resume_point(*k.state, k.store, "j");
    CHECK(p.round == 1);
    CHECK_THAT(p.notes[1], Catch::Contains("missing"));
  }
  SECTION("replaced by a valid file of another model") {
    write_model_file(k.store.model_path(3), testing::make_model({16, 100}, 99));
    ResumePoint p = find_resume_point(*k.state, k.store, "j");
    CHECK(p.round == 2);
    CHECK_THAT(p.notes[1], Catch::Contains("differs from the"));
  }
}

TEST_CASE("the job runner resumes from the state database and rewrites metrics.jsonl from it") {
  KilledJob k(2);
  write_file_atomically(k.store.metrics_path(), "{\"round\": 1}\n{\"round\": 2}\n{\"round\": 3}\n");
  CoordinatorOptions options;
  options.state_dir = k.dir.path;
  options.state = k.state;
  JobConfig job = testing::small_job("j", 5, 1, 1);
  JobRunner runner(job, options, testing::make_model({16, 100}, 42),
                   make_job_strategy(job, k.store.journal_dir()));
  CHECK(runner.resumed_from() == 2);
  // Round 0 was not overwritten with the new initial model.
  CHECK(read_model_file(k.store.model_path(0)).bytes == testing::make_model({16, 100}, 1).bytes);
  const std::string metrics = read_file(k.store.metrics_path());
  CHECK(std::count(metrics.begin(), metrics.end(), '\n') == 2);
  CHECK(metrics.find("\"round\":3") == std::string::npos);
}

TEST_CASE("without recorded rounds a job starts from its initial model") {
  testing::TempDir dir;
  auto state = std::make_shared<StateDatabase>(dir.path);
  CoordinatorOptions options;
  options.state_dir = dir.path;
  options.state = state;
  CheckpointStore store(dir.path, "fresh");
  const JobConfig fresh = testing::small_job("fresh", 2, 1, 1);
  JobRunner runner(fresh, options, testing::make_model({16}, 7),
                   make_job_strategy(fresh, store.journal_dir()));
  CHECK(runner.resumed_from() == 0);
  CHECK(read_model_file(store.model_path(0)).bytes == testing::make_model({16}, 7).bytes);
}

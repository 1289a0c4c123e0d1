// StateDatabase: the coordinator's durable record of jobs, rounds, sites and who took part in
// what, in one SQLite file (<state_dir>/coordinator.db, WAL mode; see sqlite_database.h).
//
//   jobs         name, submitted config (YAML text), who submitted it, status
//                (queued | running | completed | failed | aborted) and why, rounds
//   rounds       one row per (job, round): running | completed | failed | interrupted, the
//                model's SHA-256 and the previous round's (a hash chain), the round's metrics
//                record as JSON
//   site_rounds  each selected site's part in a round: selected, training, uploaded, late,
//                failed, refused, with the reason
//   sites        the site registry: certificate fingerprint and expiry, first and last seen,
//                version
//
// Contract: a round is "completed" only once its model file is on disk and round_finished()
// committed; anything else found at start-up was interrupted and is run again. Each write is
// one transaction. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fedxray {

class SqliteDatabase;

struct JobRow {
  int64_t id = 0;  // submission order
  std::string name;
  std::string status;
  std::string message;
  std::string config_yaml;
  std::string submitted_by;
  std::string submitted_at;
  std::string started_at;
  std::string finished_at;
  int rounds = 0;
  int completed_rounds = 0;
};

struct RoundRow {
  int round = 0;
  std::string status;
  std::string reason;
  std::string model_sha256;
  std::string previous_sha256;
  std::string started_at;
  std::string finished_at;
  double seconds = 0;
  nlohmann::json record;  // the round's metrics record (null until it finished)
};

struct SiteRoundRow {
  int round = 0;
  std::string site;
  std::string state;
  std::string reason;
};

struct SiteRow {
  std::string name;
  std::string fingerprint;
  std::string version;
  std::string first_seen;
  std::string last_seen;
  int64_t certificate_not_after = 0;  // Unix seconds; 0: not known (joined before it was kept)
};

// A time as ISO 8601 UTC with milliseconds ("2026-11-23T10:15:00.123Z"); such strings sort
// in time order.
std::string utc_time(std::chrono::system_clock::time_point t);
std::string utc_now();

// Whether the site was heard from within the last `seconds` ("connected").
bool seen_within(const SiteRow& site, double seconds);

class StateDatabase {
 public:
  // Opens (creating if needed) <state_dir>/coordinator.db.
  explicit StateDatabase(const std::string& state_dir);
  ~StateDatabase();

  const std::string& path() const;
  std::shared_ptr<SqliteDatabase> connection() const { return db_; }

  // --- jobs ----------------------------------------------------------------------------------
  // Queues a job; throws Error if a job of that name exists already.
  void add_job(const std::string& name, const std::string& config_yaml, int rounds,
               const std::string& submitted_by);
  std::optional<JobRow> job(const std::string& name) const;
  std::vector<JobRow> jobs() const;  // in submission order
  // The job to run next: one left running by a previous coordinator first, then the oldest queued.
  std::optional<JobRow> next_job() const;
  void set_job_status(const std::string& name, const std::string& status,
                      const std::string& message);

  // --- rounds --------------------------------------------------------------------------------
  void round_started(const std::string& job, int round, const std::vector<std::string>& sites);
  void site_round_state(const std::string& job, int round, const std::string& site,
                        const std::string& state, const std::string& reason);
  // Records the finished round and every site's final part in it, in one transaction.
  void round_finished(const std::string& job, int round, const nlohmann::json& record,
                      const std::string& previous_sha256);
  std::vector<RoundRow> rounds(const std::string& job) const;
  std::vector<SiteRoundRow> site_rounds(const std::string& job, int round) const;
  // Marks rounds left "running" as "interrupted"; returns their numbers.
  std::vector<int> mark_interrupted(const std::string& job, const std::string& why);
  // Completed round `round` turned out unusable (its checkpoint is corrupt): it and every later
  // round become "discarded" with `why`, so they run again.
  void discard_rounds_from(const std::string& job, int round, const std::string& why);

  // --- sites ---------------------------------------------------------------------------------
  void site_joined(const std::string& name, const std::string& fingerprint,
                   const std::string& version, int64_t certificate_not_after = 0);
  void site_seen(const std::string& name);
  std::vector<SiteRow> sites() const;

  // --- monitoring ----------------------------------------------------------------------------
  // How many rows of `jobs` (by status), `rounds` (by status) or `site_rounds` (by state).
  std::map<std::string, int64_t> count_by(const std::string& table) const;

 private:
  std::shared_ptr<SqliteDatabase> db_;
};

}  // namespace fedxray

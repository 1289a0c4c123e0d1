#include "coordinator/store/state_database.h"

#include <chrono>
#include <ctime>
#include <filesystem>

#include "base/error.h"
#include "coordinator/store/sqlite_database.h"

namespace fedxray {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS jobs(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  config_yaml TEXT NOT NULL,
  rounds INTEGER NOT NULL,
  submitted_by TEXT NOT NULL,
  submitted_at TEXT NOT NULL,
  status TEXT NOT NULL,
  message TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL DEFAULT '',
  finished_at TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS rounds(
  job TEXT NOT NULL REFERENCES jobs(name),
  round INTEGER NOT NULL,
  status TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  model_sha256 TEXT NOT NULL DEFAULT '',
  previous_sha256 TEXT NOT NULL DEFAULT '',
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  seconds REAL NOT NULL DEFAULT 0,
  record TEXT NOT NULL DEFAULT 'null',
  PRIMARY KEY(job, round));
CREATE TABLE IF NOT EXISTS site_rounds(
  job TEXT NOT NULL,
  round INTEGER NOT NULL,
  site TEXT NOT NULL,
  state TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(job, round, site));
CREATE TABLE IF NOT EXISTS sites(
  name TEXT PRIMARY KEY,
  fingerprint TEXT NOT NULL,
  version TEXT NOT NULL,
  first_seen TEXT NOT NULL,
  last_seen TEXT NOT NULL,
  certificate_not_after INTEGER NOT NULL DEFAULT 0);
)sql";

constexpr const char* kJobColumns =
    "SELECT id, name, status, message, config_yaml, submitted_by, submitted_at, started_at, "
    "finished_at, rounds, (SELECT COUNT(*) FROM rounds r WHERE r.job = jobs.name AND "
    "r.status = 'completed') FROM jobs ";

JobRow read_job(const SqliteDatabase::Statement& q) {
  JobRow j;
  j.id = q.integer(0);
  j.name = q.text(1);
  j.status = q.text(2);
  j.message = q.text(3);
  j.config_yaml = q.text(4);
  j.submitted_by = q.text(5);
  j.submitted_at = q.text(6);
  j.started_at = q.text(7);
  j.finished_at = q.text(8);
  j.rounds = int(q.integer(9));
  j.completed_rounds = int(q.integer(10));
  return j;
}

}  // namespace

std::string utc_time(std::chrono::system_clock::time_point when) {
  const std::time_t t = std::chrono::system_clock::to_time_t(when);
  const int ms = int(std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch())
                         .count() % 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return buf;
}

std::string utc_now() { return utc_time(std::chrono::system_clock::now()); }

bool seen_within(const SiteRow& site, double seconds) {
  return site.last_seen >= utc_time(std::chrono::system_clock::now() -
                                    std::chrono::milliseconds(int64_t(seconds * 1000)));
}

StateDatabase::StateDatabase(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  if (ec) {
    throw Error("cannot create coordinator.state_dir " + state_dir + ": " + ec.message());
  }
  db_ = std::make_shared<SqliteDatabase>(
      (std::filesystem::path(state_dir) / "coordinator.db").string());
  db_->exec(kSchema);
  // Databases made before certificate expiry was kept get the column (0: not known yet), in one
  // transaction so two processes opening an old database cannot both add it.
  SqliteDatabase::Transaction migration(*db_);
  bool has_expiry = false;
  {
    SqliteDatabase::Statement columns(*db_, "PRAGMA table_info(sites)");
    while (columns.step()) has_expiry = has_expiry || columns.text(1) == "certificate_not_after";
  }
  if (!has_expiry) {
    db_->exec("ALTER TABLE sites ADD COLUMN certificate_not_after INTEGER NOT NULL DEFAULT 0");
  }
  migration.commit();
}

StateDatabase::~StateDatabase() = default;

const std::string& StateDatabase::path() const { return db_->path(); }

void StateDatabase::add_job(const std::string& name, const std::string& config_yaml, int rounds,
                            const std::string& submitted_by) {
  SqliteDatabase::Transaction t(*db_);
  if (job(name)) {
    throw Error("a job named '" + name + "' was submitted before (status " + job(name)->status +
                "); give the new job another job.name");
  }
  SqliteDatabase::Statement(*db_,
                            "INSERT INTO jobs(name, config_yaml, rounds, submitted_by, "
                            "submitted_at, status) VALUES(?, ?, ?, ?, ?, 'queued')")
      .bind(1, name).bind(2, config_yaml).bind(3, int64_t(rounds)).bind(4, submitted_by)
      .bind(5, utc_now()).run();
  t.commit();
}

std::optional<JobRow> StateDatabase::job(const std::string& name) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_, std::string(kJobColumns) + "WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_job(q);
}

std::vector<JobRow> StateDatabase::jobs() const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_, std::string(kJobColumns) + "ORDER BY id");
  std::vector<JobRow> out;
  while (q.step()) out.push_back(read_job(q));
  return out;
}

std::optional<JobRow> StateDatabase::next_job() const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(
      *db_, std::string(kJobColumns) +
                "WHERE status IN ('running', 'queued') ORDER BY status = 'queued', id LIMIT 1");
  if (!q.step()) return std::nullopt;
  return read_job(q);
}

void StateDatabase::set_job_status(const std::string& name, const std::string& status,
                                   const std::string& message) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  const bool ended = status != "running" && status != "queued";
  const char* sql =
      status == "running"
          ? "UPDATE jobs SET status = ?, message = ?, started_at = CASE WHEN started_at = '' "
            "THEN ?3 ELSE started_at END WHERE name = ?4"
      : ended ? "UPDATE jobs SET status = ?, message = ?, finished_at = ?3 WHERE name = ?4"
              : "UPDATE jobs SET status = ?, message = ? WHERE name = ?4";
  SqliteDatabase::Statement q(*db_, sql);
  q.bind(1, status).bind(2, message).bind(4, name);
  if (status == "running" || ended) q.bind(3, utc_now());
  q.run();
}

void StateDatabase::round_started(const std::string& job, int round,
                                  const std::vector<std::string>& sites) {
  SqliteDatabase::Transaction t(*db_);
  SqliteDatabase::Statement(*db_, "DELETE FROM site_rounds WHERE job = ? AND round = ?")
      .bind(1, job).bind(2, int64_t(round)).run();
  SqliteDatabase::Statement(*db_,
                            "INSERT OR REPLACE INTO rounds(job, round, status, started_at) "
                            "VALUES(?, ?, 'running', ?)")
      .bind(1, job).bind(2, int64_t(round)).bind(3, utc_now()).run();
  for (const auto& site : sites) {
    SqliteDatabase::Statement(*db_,
                              "INSERT INTO site_rounds(job, round, site, state) "
                              "VALUES(?, ?, ?, 'selected')")
        .bind(1, job).bind(2, int64_t(round)).bind(3, site).run();
  }
  t.commit();
}

void StateDatabase::site_round_state(const std::string& job, int round, const std::string& site,
                                     const std::string& state, const std::string& reason) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement(*db_,
                            "INSERT OR REPLACE INTO site_rounds(job, round, site, state, reason) "
                            "VALUES(?, ?, ?, ?, ?)")
      .bind(1, job).bind(2, int64_t(round)).bind(3, site).bind(4, state).bind(5, reason).run();
}

void StateDatabase::round_finished(const std::string& job, int round, const nlohmann::json& record,
                                   const std::string& previous_sha256) {
  SqliteDatabase::Transaction t(*db_);
  const std::string status = record.value("status", "failed");
  SqliteDatabase::Statement(*db_,
                            "UPDATE rounds SET status = ?, reason = ?, model_sha256 = ?, "
                            "previous_sha256 = ?, finished_at = ?, seconds = ?, record = ? "
                            "WHERE job = ? AND round = ?")
      .bind(1, status)
      .bind(2, record.value("reason", std::string()))
      .bind(3, record.value("model_sha256", std::string()))
      .bind(4, previous_sha256)
      .bind(5, utc_now())
      .bind(6, record.value("seconds", 0.0))
      .bind(7, record.dump())
      .bind(8, job)
      .bind(9, int64_t(round))
      .run();
  if (record.contains("sites")) {
    for (const auto& s : record["sites"]) {
      SqliteDatabase::Statement(*db_,
                                "INSERT OR REPLACE INTO site_rounds(job, round, site, state, "
                                "reason) VALUES(?, ?, ?, ?, ?)")
          .bind(1, job).bind(2, int64_t(round)).bind(3, s.value("site", std::string()))
          .bind(4, s.value("state", s.value("status", std::string())))
          .bind(5, s.value("reason", std::string()))
          .run();
    }
  }
  t.commit();
}

std::vector<RoundRow> StateDatabase::rounds(const std::string& job) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_,
                              "SELECT round, status, reason, model_sha256, previous_sha256, "
                              "started_at, finished_at, seconds, record FROM rounds WHERE job = ? "
                              "ORDER BY round");
  q.bind(1, job);
  std::vector<RoundRow> out;
  while (q.step()) {
    RoundRow r;
    r.round = int(q.integer(0));
    r.status = q.text(1);
    r.reason = q.text(2);
    r.model_sha256 = q.text(3);
    r.previous_sha256 = q.text(4);
    r.started_at = q.text(5);
    r.finished_at = q.text(6);
    r.seconds = q.real(7);
    r.record = nlohmann::json::parse(q.text(8), nullptr, false);
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<SiteRoundRow> StateDatabase::site_rounds(const std::string& job, int round) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_,
                              "SELECT round, site, state, reason FROM site_rounds WHERE job = ? "
                              "AND round = ? ORDER BY site");
  q.bind(1, job).bind(2, int64_t(round));
  std::vector<SiteRoundRow> out;
  while (q.step()) out.push_back({int(q.integer(0)), q.text(1), q.text(2), q.text(3)});
  return out;
}

std::vector<int> StateDatabase::mark_interrupted(const std::string& job, const std::string& why) {
  SqliteDatabase::Transaction t(*db_);
  std::vector<int> out;
  {
    SqliteDatabase::Statement q(*db_, "SELECT round FROM rounds WHERE job = ? AND status = 'running'");
    q.bind(1, job);
    while (q.step()) out.push_back(int(q.integer(0)));
  }
  SqliteDatabase::Statement(*db_,
                            "UPDATE rounds SET status = 'interrupted', reason = ?, finished_at = ? "
                            "WHERE job = ? AND status = 'running'")
      .bind(1, why).bind(2, utc_now()).bind(3, job).run();
  t.commit();
  return out;
}

void StateDatabase::discard_rounds_from(const std::string& job, int round, const std::string& why) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement(*db_,
                            "UPDATE rounds SET status = 'discarded', reason = ? WHERE job = ? AND "
                            "round >= ? AND status = 'completed'")
      .bind(1, why).bind(2, job).bind(3, int64_t(round)).run();
}

void StateDatabase::site_joined(const std::string& name, const std::string& fingerprint,
                                const std::string& version, int64_t certificate_not_after) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  const std::string now = utc_now();
  SqliteDatabase::Statement(*db_,
                            "INSERT INTO sites(name, fingerprint, version, first_seen, last_seen, "
                            "certificate_not_after) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(name) DO "
                            "UPDATE SET fingerprint = excluded.fingerprint, version = "
                            "excluded.version, last_seen = excluded.last_seen, "
                            "certificate_not_after = excluded.certificate_not_after")
      .bind(1, name).bind(2, fingerprint).bind(3, version).bind(4, now).bind(5, now)
      .bind(6, certificate_not_after).run();
}

void StateDatabase::site_seen(const std::string& name) {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement(*db_, "UPDATE sites SET last_seen = ? WHERE name = ?")
      .bind(1, utc_now()).bind(2, name).run();
}

std::map<std::string, int64_t> StateDatabase::count_by(const std::string& table) const {
  const char* sql = table == "jobs"     ? "SELECT status, COUNT(*) FROM jobs GROUP BY status"
                    : table == "rounds" ? "SELECT status, COUNT(*) FROM rounds GROUP BY status"
                    : table == "site_rounds"
                        ? "SELECT state, COUNT(*) FROM site_rounds GROUP BY state"
                        : nullptr;
  if (!sql) throw Error("count_by: no table '" + table + "'");
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_, sql);
  std::map<std::string, int64_t> out;
  while (q.step()) out[q.text(0)] = q.integer(1);
  return out;
}

std::vector<SiteRow> StateDatabase::sites() const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_,
                              "SELECT name, fingerprint, version, first_seen, last_seen, "
                              "certificate_not_after FROM sites ORDER BY name");
  std::vector<SiteRow> out;
  while (q.step()) {
    out.push_back({q.text(0), q.text(1), q.text(2), q.text(3), q.text(4), q.integer(5)});
  }
  return out;
}

}  // namespace fedxray

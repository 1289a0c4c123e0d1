#include "coordinator/store/enrollment_book.h"

#include <openssl/rand.h>

#include <chrono>

#include "base/hex.h"
#include "base/sha256.h"
#include "coordinator/store/sqlite_database.h"
#include "coordinator/store/state_database.h"

namespace fedxray {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS enrollment_tokens(
  name TEXT PRIMARY KEY,
  token_sha256 TEXT NOT NULL,
  issued_by TEXT NOT NULL,
  issued_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  spent_at TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS enrollments(
  name TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  csr_pem TEXT NOT NULL,
  csr_sha256 TEXT NOT NULL,
  requested_at TEXT NOT NULL,
  decided_by TEXT NOT NULL DEFAULT '',
  decided_at TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  certificate_pem TEXT NOT NULL DEFAULT '',
  certificate_not_after INTEGER NOT NULL DEFAULT 0);
)sql";

constexpr const char* kColumns =
    "name, status, csr_pem, csr_sha256, requested_at, decided_by, decided_at, reason, "
    "certificate_pem, certificate_not_after";

EnrollmentRow read_row(const SqliteDatabase::Statement& q) {
  EnrollmentRow r;
  r.name = q.text(0);
  r.status = q.text(1);
  r.csr_pem = q.text(2);
  r.csr_sha256 = q.text(3);
  r.requested_at = q.text(4);
  r.decided_by = q.text(5);
  r.decided_at = q.text(6);
  r.reason = q.text(7);
  r.certificate_pem = q.text(8);
  r.certificate_not_after = q.integer(9);
  return r;
}

std::optional<EnrollmentRow> find_row(SqliteDatabase& db, const std::string& name) {
  SqliteDatabase::Statement q(
      db, std::string("SELECT ") + kColumns + " FROM enrollments WHERE name = ?");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return read_row(q);
}

}  // namespace

EnrollmentBook::EnrollmentBook(std::shared_ptr<SqliteDatabase> db) : db_(std::move(db)) {
  db_->exec(kSchema);
}

std::string EnrollmentBook::issue_token(const std::string& name, const std::string& issued_by,
                                        double hours, std::string& expires_at) {
  unsigned char random[24];
  if (RAND_bytes(random, sizeof random) != 1) {
    throw Error("OpenSSL's random generator failed; cannot make an enrolment token");
  }
  const std::string token = "fxe-" + to_hex(random, sizeof random);
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  const auto now = std::chrono::system_clock::now();
  expires_at = utc_time(now + std::chrono::milliseconds(int64_t(hours * 3600 * 1000)));
  SqliteDatabase::Statement(*db_,
                            "INSERT OR REPLACE INTO enrollment_tokens(name, token_sha256, "
                            "issued_by, issued_at, expires_at, spent_at) VALUES(?, ?, ?, ?, ?, '')")
      .bind(1, name)
      .bind(2, Sha256::of(token.data(), token.size()))
      .bind(3, issued_by)
      .bind(4, utc_time(now))
      .bind(5, expires_at)
      .run();
  return token;
}

EnrollmentRow EnrollmentBook::request(const std::string& name, const std::string& token,
                                      const std::string& csr_pem, const std::string& csr_sha256) {
  SqliteDatabase::Transaction tx(*db_);
  SqliteDatabase::Statement q(*db_,
                              "SELECT token_sha256, expires_at, spent_at FROM enrollment_tokens "
                              "WHERE name = ?");
  q.bind(1, name);
  const std::string presented = Sha256::of(token.data(), token.size());
  if (!q.step() || q.text(0) != presented) {
    throw EnrollmentRefused("this is not the enrolment token issued for '" + name +
                            "'; ask the consortium admin for one (fedxray admin "
                            "enrollment-token " +
                            name + ")");
  }
  if (!q.text(2).empty()) {
    throw EnrollmentRefused("the enrolment token for '" + name + "' was used already (at " +
                            q.text(2) + "); ask the consortium admin for a new one");
  }
  const std::string now = utc_now();
  if (q.text(1) < now) {
    throw EnrollmentRefused("the enrolment token for '" + name + "' expired at " + q.text(1) +
                            "; ask the consortium admin for a new one");
  }
  SqliteDatabase::Statement(*db_, "UPDATE enrollment_tokens SET spent_at = ? WHERE name = ?")
      .bind(1, now)
      .bind(2, name)
      .run();
  SqliteDatabase::Statement(*db_,
                            "INSERT OR REPLACE INTO enrollments(name, status, csr_pem, csr_sha256, "
                            "requested_at) VALUES(?, 'pending', ?, ?, ?)")
      .bind(1, name)
      .bind(2, csr_pem)
      .bind(3, csr_sha256)
      .bind(4, now)
      .run();
  EnrollmentRow row = *find_row(*db_, name);
  tx.commit();
  return row;
}

std::optional<EnrollmentRow> EnrollmentBook::find(const std::string& name) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  return find_row(*db_, name);
}

std::vector<EnrollmentRow> EnrollmentBook::list() const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(
      *db_, std::string("SELECT ") + kColumns + " FROM enrollments ORDER BY name");
  std::vector<EnrollmentRow> rows;
  while (q.step()) rows.push_back(read_row(q));
  return rows;
}

EnrollmentRow EnrollmentBook::approve(const std::string& name, const std::string& certificate_pem,
                                      int64_t not_after, const std::string& decided_by) {
  SqliteDatabase::Transaction tx(*db_);
  const auto row = find_row(*db_, name);
  if (row && (row->status == "rejected" || row->status == "removed")) {
    throw EnrollmentRefused("the enrolment of '" + name + "' was " + row->status +
                            "; the site must enrol again with a new token before it can be "
                            "approved");
  }
  const std::string now = utc_now();
  SqliteDatabase::Statement(*db_,
                            "INSERT INTO enrollments(name, status, csr_pem, csr_sha256, "
                            "requested_at, decided_by, decided_at, certificate_pem, "
                            "certificate_not_after) VALUES(?, 'approved', '', '', ?, ?, ?, ?, ?) "
                            "ON CONFLICT(name) DO UPDATE SET status = 'approved', "
                            "decided_by = excluded.decided_by, decided_at = excluded.decided_at, "
                            "reason = '', certificate_pem = excluded.certificate_pem, "
                            "certificate_not_after = excluded.certificate_not_after")
      .bind(1, name)
      .bind(2, now)
      .bind(3, decided_by)
      .bind(4, now)
      .bind(5, certificate_pem)
      .bind(6, not_after)
      .run();
  EnrollmentRow out = *find_row(*db_, name);
  tx.commit();
  return out;
}

EnrollmentRow EnrollmentBook::reject(const std::string& name, const std::string& reason,
                                     const std::string& decided_by) {
  SqliteDatabase::Transaction tx(*db_);
  const auto row = find_row(*db_, name);
  if (!row || row->status != "pending") {
    throw EnrollmentRefused("there is no pending enrolment request from '" + name +
                            "'; `fedxray admin enrollments` lists them");
  }
  SqliteDatabase::Statement(*db_,
                            "UPDATE enrollments SET status = 'rejected', decided_by = ?, "
                            "decided_at = ?, reason = ? WHERE name = ?")
      .bind(1, decided_by)
      .bind(2, utc_now())
      .bind(3, reason)
      .bind(4, name)
      .run();
  EnrollmentRow out = *find_row(*db_, name);
  tx.commit();
  return out;
}

EnrollmentRow EnrollmentBook::remove(const std::string& name, const std::string& reason,
                                     const std::string& decided_by) {
  SqliteDatabase::Transaction tx(*db_);
  const std::string now = utc_now();
  SqliteDatabase::Statement(*db_,
                            "INSERT INTO enrollments(name, status, csr_pem, csr_sha256, "
                            "requested_at, decided_by, decided_at, reason) VALUES(?, 'removed', "
                            "'', '', ?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET status = "
                            "'removed', decided_by = excluded.decided_by, decided_at = "
                            "excluded.decided_at, reason = excluded.reason")
      .bind(1, name)
      .bind(2, now)
      .bind(3, decided_by)
      .bind(4, now)
      .bind(5, reason)
      .run();
  // A token issued earlier no longer lets it back in: a new one is needed.
  SqliteDatabase::Statement(*db_, "DELETE FROM enrollment_tokens WHERE name = ?")
      .bind(1, name)
      .run();
  EnrollmentRow out = *find_row(*db_, name);
  tx.commit();
  return out;
}

bool EnrollmentBook::removed(const std::string& name) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_,
                              "SELECT 1 FROM enrollments WHERE name = ? AND status = 'removed'");
  q.bind(1, name);
  return q.step();
}

bool EnrollmentBook::token_usable(const std::string& name, const std::string& token) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_,
                              "SELECT token_sha256, expires_at, spent_at FROM enrollment_tokens "
                              "WHERE name = ?");
  q.bind(1, name);
  return q.step() && q.text(0) == Sha256::of(token.data(), token.size()) && q.text(2).empty() &&
         q.text(1) >= utc_now();
}

bool EnrollmentBook::admitted(const std::string& name) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_,
                              "SELECT 1 FROM enrollments WHERE name = ? AND status = 'approved'");
  q.bind(1, name);
  return q.step();
}

int64_t EnrollmentBook::admitted_count() const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  SqliteDatabase::Statement q(*db_, "SELECT COUNT(*) FROM enrollments WHERE status = 'approved'");
  return q.step() ? q.integer(0) : 0;
}

}  // namespace fedxray

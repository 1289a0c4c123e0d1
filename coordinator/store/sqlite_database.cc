#include "coordinator/store/sqlite_database.h"

#include <sqlite3.h>

#include "base/error.h"

namespace fedxray {

SqliteDatabase::SqliteDatabase(const std::string& path) : path_(path) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string why = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open the coordinator state database " + path + ": " + why +
                "; check coordinator.state_dir and its permissions");
  }
  sqlite3_busy_timeout(db_, 10000);
  exec("PRAGMA journal_mode=WAL");
  exec("PRAGMA synchronous=FULL");
  exec("PRAGMA foreign_keys=ON");
}

SqliteDatabase::~SqliteDatabase() { sqlite3_close(db_); }

void SqliteDatabase::fail(const std::string& what) const {
  throw Error("coordinator state database " + path_ + ": " + what + ": " + sqlite3_errmsg(db_));
}

void SqliteDatabase::exec(const std::string& sql) {
  std::lock_guard<std::recursive_mutex> lock(mu_);
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string why = message ? message : "unknown error";
    sqlite3_free(message);
    throw Error("coordinator state database " + path_ + ": " + why + " (in: " +
                sql.substr(0, 80) + ")");
  }
}

SqliteDatabase::Statement::Statement(SqliteDatabase& db, const std::string& sql) : db_(db) {
  if (sqlite3_prepare_v2(db.db_, sql.c_str(), int(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
    db.fail("cannot prepare '" + sql.substr(0, 80) + "'");
  }
}

SqliteDatabase::Statement::~Statement() { sqlite3_finalize(stmt_); }

SqliteDatabase::Statement& SqliteDatabase::Statement::bind(int index, const std::string& value) {
  if (sqlite3_bind_text(stmt_, index, value.data(), int(value.size()), SQLITE_TRANSIENT) != SQLITE_OK) {
    db_.fail("cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

SqliteDatabase::Statement& SqliteDatabase::Statement::bind(int index, int64_t value) {
  if (sqlite3_bind_int64(stmt_, index, value) != SQLITE_OK) {
    db_.fail("cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

SqliteDatabase::Statement& SqliteDatabase::Statement::bind(int index, double value) {
  if (sqlite3_bind_double(stmt_, index, value) != SQLITE_OK) {
    db_.fail("cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

SqliteDatabase::Statement& SqliteDatabase::Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_, index) != SQLITE_OK) {
    db_.fail("cannot bind parameter " + std::to_string(index));
  }
  return *this;
}

bool SqliteDatabase::Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail("statement failed");
}

void SqliteDatabase::Statement::run() {
  while (step()) {
  }
}

std::string SqliteDatabase::Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), size_t(sqlite3_column_bytes(stmt_, column)))
           : std::string();
}

int64_t SqliteDatabase::Statement::integer(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double SqliteDatabase::Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

bool SqliteDatabase::Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

SqliteDatabase::Transaction::Transaction(SqliteDatabase& db) : db_(db), lock_(db.mu_) {
  db_.exec("BEGIN IMMEDIATE");
}

SqliteDatabase::Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
}

void SqliteDatabase::Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace fedxray

// SqliteDatabase: one SQLite file opened for the coordinator's durable state.
//
// Contract: the file is created if absent and put in WAL mode with synchronous=FULL, so a
// committed transaction survives kill -9 and power loss, and readers never see half of one.
// Every call is serialised by one mutex; hold `lock()` across several statements that must form
// one transaction (BEGIN IMMEDIATE ... COMMIT via Transaction). Any SQLite failure throws Error
// naming the file and SQLite's message.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace fedxray {

class SqliteDatabase {
 public:
  explicit SqliteDatabase(const std::string& path);
  ~SqliteDatabase();
  SqliteDatabase(const SqliteDatabase&) = delete;
  SqliteDatabase& operator=(const SqliteDatabase&) = delete;

  const std::string& path() const { return path_; }
  std::recursive_mutex& mutex() { return mu_; }
  void exec(const std::string& sql);

  // One prepared statement. Bind parameters are 1-based, as in SQLite.
  class Statement {
   public:
    Statement(SqliteDatabase& db, const std::string& sql);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement& bind(int index, const std::string& value);
    Statement& bind(int index, int64_t value);
    Statement& bind(int index, double value);
    Statement& bind_null(int index);
    // Advances; true while a row is available.
    bool step();
    // Runs a statement that returns no rows.
    void run();
    std::string text(int column) const;
    int64_t integer(int column) const;
    double real(int column) const;
    bool is_null(int column) const;

   private:
    SqliteDatabase& db_;
    sqlite3_stmt* stmt_ = nullptr;
  };

  // BEGIN IMMEDIATE on construction; ROLLBACK unless commit() was called.
  class Transaction {
   public:
    explicit Transaction(SqliteDatabase& db);
    ~Transaction();
    void commit();

   private:
    SqliteDatabase& db_;
    std::lock_guard<std::recursive_mutex> lock_;
    bool done_ = false;
  };

 private:
  [[noreturn]] void fail(const std::string& what) const;
  std::string path_;
  sqlite3* db_ = nullptr;
  std::recursive_mutex mu_;
};

}  // namespace fedxray

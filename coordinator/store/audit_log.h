// AuditLog: every admin action and every site submission, append-only and hash-chained.
//
// Each record holds who (the caller's certificate subject), what (action and target), when (UTC),
// the outcome and a short detail, plus the hash of the record before it; its own hash is
// SHA-256 over all of that. The chain's head (record count and last hash) is also written
// atomically to <db>-audit-head, so deleting the newest records is caught as well as editing or
// deleting older ones. With a head key (kept outside the state folder: coordinator.audit_key)
// the head also carries HMAC-SHA256(key, count and hash), so someone who can write the database
// and the head file but not read the key cannot rebuild a consistent chain unnoticed.
// Records live in the coordinator's state database (table `audit`).
//
// verify() recomputes the whole chain and names the first record that does not fit.
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace fedxray {

class SqliteDatabase;

struct AuditRecord {
  int64_t seq = 0;
  std::string at;
  std::string actor;    // certificate subject, e.g. "CN=alice,OU=admin"
  std::string action;   // e.g. "submit", "abort", "upload", "join"
  std::string target;   // e.g. "job nih-1", "job nih-1 round 3"
  std::string outcome;  // "ok", "refused", "failed"
  std::string detail;
  std::string previous_hash;
  std::string hash;
};

struct AuditVerdict {
  bool intact = false;
  int64_t records = 0;
  std::string problem;  // empty when intact
};

class AuditLog {
 public:
  // An empty `head_key` leaves the head unkeyed (then only the chain itself is checked).
  explicit AuditLog(std::shared_ptr<SqliteDatabase> db, std::string head_key = {});

  void append(const std::string& actor, const std::string& action, const std::string& target,
              const std::string& outcome, const std::string& detail = "");
  // The same, for an action that has already happened: a failure to write is logged, not thrown.
  void record(const std::string& actor, const std::string& action, const std::string& target,
              const std::string& outcome, const std::string& detail = "") noexcept;
  // The newest `limit` records (all when 0), oldest first.
  std::vector<AuditRecord> records(int64_t limit = 0) const;
  AuditVerdict verify() const;
  std::string head_path() const;

 private:
  std::string head_line(int64_t seq, const std::string& hash) const;

  std::shared_ptr<SqliteDatabase> db_;
  std::string head_key_;
};

// SHA-256 (hex) of a record's fields and its predecessor's hash.
std::string audit_hash(const AuditRecord& r);

}  // namespace fedxray

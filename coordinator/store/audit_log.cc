#include "coordinator/store/audit_log.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <filesystem>
#include <sstream>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/hex.h"
#include "base/sha256.h"
#include "coordinator/store/sqlite_database.h"
#include "coordinator/store/state_database.h"

namespace fedxray {
namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS audit(
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL,
  previous_hash TEXT NOT NULL,
  hash TEXT NOT NULL);
)sql";

const std::string kGenesis(64, '0');

void put_field(std::string& out, const std::string& field) {
  out += std::to_string(field.size());
  out += ':';
  out += field;
  out += '\n';
}

AuditRecord read_record(const SqliteDatabase::Statement& q) {
  AuditRecord r;
  r.seq = q.integer(0);
  r.at = q.text(1);
  r.actor = q.text(2);
  r.action = q.text(3);
  r.target = q.text(4);
  r.outcome = q.text(5);
  r.detail = q.text(6);
  r.previous_hash = q.text(7);
  r.hash = q.text(8);
  return r;
}

constexpr const char* kColumns =
    "SELECT seq, at, actor, action, target, outcome, detail, previous_hash, hash FROM audit ";

}  // namespace

std::string audit_hash(const AuditRecord& r) {
  std::string bytes;
  put_field(bytes, std::to_string(r.seq));
  put_field(bytes, r.at);
  put_field(bytes, r.actor);
  put_field(bytes, r.action);
  put_field(bytes, r.target);
  put_field(bytes, r.outcome);
  put_field(bytes, r.detail);
  put_field(bytes, r.previous_hash);
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex_digest();
}

AuditLog::AuditLog(std::shared_ptr<SqliteDatabase> db, std::string head_key)
    : db_(std::move(db)), head_key_(std::move(head_key)) {
  db_->exec(kSchema);
  // A keyed log is signed from its first day, so emptying it and its head is caught as well.
  std::error_code ec;
  if (!head_key_.empty() && !std::filesystem::exists(head_path(), ec)) {
    SqliteDatabase::Statement q(*db_, "SELECT COUNT(*) FROM audit");
    if (q.step() && q.integer(0) == 0) {
      spdlog::warn("the audit log in {} is empty and has no head: starting a new signed log "
                   "(expected for a new state folder; otherwise the log was wiped)", db_->path());
      write_file_atomically(head_path(), head_line(0, kGenesis) + "\n", 0600);
    }
  }
}

std::string AuditLog::head_line(int64_t seq, const std::string& hash) const {
  std::string line = std::to_string(seq) + " " + hash;
  if (head_key_.empty()) return line;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), head_key_.data(), int(head_key_.size()),
            reinterpret_cast<const unsigned char*>(line.data()), line.size(), mac, &mac_len)) {
    throw Error("cannot compute the audit head's HMAC (OpenSSL)");
  }
  return line + " " + to_hex(mac, mac_len);
}

std::string AuditLog::head_path() const { return db_->path() + "-audit-head"; }

void AuditLog::append(const std::string& actor, const std::string& action,
                      const std::string& target, const std::string& outcome,
                      const std::string& detail) {
  SqliteDatabase::Transaction t(*db_);
  AuditRecord r;
  r.seq = 1;
  r.previous_hash = kGenesis;
  {
    SqliteDatabase::Statement q(*db_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (q.step()) {
      r.seq = q.integer(0) + 1;
      r.previous_hash = q.text(1);
    }
  }
  r.at = utc_now();
  r.actor = actor;
  r.action = action;
  r.target = target;
  r.outcome = outcome;
  r.detail = detail.substr(0, 2000);
  r.hash = audit_hash(r);
  SqliteDatabase::Statement(*db_,
                            "INSERT INTO audit(seq, at, actor, action, target, outcome, detail, "
                            "previous_hash, hash) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .bind(1, r.seq).bind(2, r.at).bind(3, r.actor).bind(4, r.action).bind(5, r.target)
      .bind(6, r.outcome).bind(7, r.detail).bind(8, r.previous_hash).bind(9, r.hash).run();
  // The head goes out before the commit: a crash in between leaves a head one ahead of the
  // table, which verify() reports as "the newest record is missing" (never silently passes).
  write_file_atomically(head_path(), head_line(r.seq, r.hash) + "\n", 0600);
  t.commit();
}

void AuditLog::record(const std::string& actor, const std::string& action,
                      const std::string& target, const std::string& outcome,
                      const std::string& detail) noexcept {
  try {
    append(actor, action, target, outcome, detail);
  } catch (const std::exception& e) {
    spdlog::error("could not write the audit record of {} {} by {}: {}", action, target, actor,
                  e.what());
  }
}

std::vector<AuditRecord> AuditLog::records(int64_t limit) const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  std::vector<AuditRecord> out;
  if (limit > 0) {
    SqliteDatabase::Statement q(*db_, std::string(kColumns) + "ORDER BY seq DESC LIMIT ?");
    q.bind(1, limit);
    while (q.step()) out.insert(out.begin(), read_record(q));
  } else {
    SqliteDatabase::Statement q(*db_, std::string(kColumns) + "ORDER BY seq");
    while (q.step()) out.push_back(read_record(q));
  }
  return out;
}

AuditVerdict AuditLog::verify() const {
  std::lock_guard<std::recursive_mutex> lock(db_->mutex());
  AuditVerdict v;
  std::string previous = kGenesis;
  int64_t expected_seq = 1;
  SqliteDatabase::Statement q(*db_, std::string(kColumns) + "ORDER BY seq");
  while (q.step()) {
    const AuditRecord r = read_record(q);
    if (r.seq != expected_seq) {
      v.problem = "record " + std::to_string(expected_seq) + " is missing (the next one is " +
                  std::to_string(r.seq) + "): records were deleted";
      return v;
    }
    if (r.previous_hash != previous) {
      v.problem = "record " + std::to_string(r.seq) +
                  " does not link to the record before it: records were deleted or replaced";
      return v;
    }
    if (audit_hash(r) != r.hash) {
      v.problem = "record " + std::to_string(r.seq) + " (" + r.action + " " + r.target +
                  ") was edited: its contents no longer match its hash";
      return v;
    }
    previous = r.hash;
    ++expected_seq;
    ++v.records;
  }
  std::error_code ec;
  if (std::filesystem::exists(head_path(), ec)) {
    const std::string text = read_file(head_path());
    std::istringstream head(text);
    int64_t head_seq = 0;
    std::string head_hash;
    head >> head_seq >> head_hash;
    if (head_seq != v.records || ((v.records > 0 || !head_key_.empty()) && head_hash != previous)) {
      v.problem = "the log ends at record " + std::to_string(v.records) + " but its head (" +
                  head_path() + ") says " + std::to_string(head_seq) +
                  ": the newest records were deleted or replaced";
      return v;
    }
    if (!head_key_.empty() && text != head_line(head_seq, head_hash) + "\n") {
      v.problem = "the audit head (" + head_path() + ") was not written with this coordinator's "
                  "audit key: the log and its head were rebuilt or replaced";
      return v;
    }
  } else if (v.records > 0 || !head_key_.empty()) {
    v.problem = "the audit head file " + head_path() + " is missing";
    return v;
  }
  v.intact = true;
  return v;
}

}  // namespace fedxray

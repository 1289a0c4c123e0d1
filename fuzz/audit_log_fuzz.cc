// Tampers with a real audit log (coordinator/store/audit_log.h) and runs AuditLog::verify() and
// records() on it: what verify() reads back is a stored record and the head file, so the input
// is a list of edits to those. Each edit is [op][record][length][bytes]: op % 4 = 0 sets a text
// column (op / 4 % 8 picks which) of record 1 + record % 4 to the bytes, 1 deletes that record,
// 2 sets its seq to the bytes as a little-endian integer, 3 replaces the head file's contents.
// Finding: anything but fedxray::Error from verify() or records(), an untouched log that does not
// verify, or any crash, leak or sanitizer report.
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "base/error.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/sqlite_database.h"
#include "fuzz/fuzz_support.h"

namespace {

namespace fs = std::filesystem;
using fedxray::SqliteDatabase;

// A pristine log of three records, made once; each input starts from a copy of it.
const std::string& pristine() {
  static const std::string path = [] {
    const std::string p = fedxray::fuzz::temp_folder() + "/pristine.db";
    {
      auto db = std::make_shared<SqliteDatabase>(p);
      fedxray::AuditLog log(db);
      log.append("CN=alice,OU=admin", "submit", "job nih-1", "ok", "3 rounds");
      log.append("CN=site-a,OU=site", "upload", "job nih-1 round 1", "ok");
      log.append("CN=bob,OU=admin", "abort", "job nih-1", "refused", "not the owner");
    }
    return p;
  }();
  return path;
}

void apply_edit(SqliteDatabase& db, const std::string& head, uint8_t op, int64_t seq,
                const std::string& bytes) {
  static const char* const kText[] = {"at",     "actor",  "action",        "target",
                                      "outcome", "detail", "previous_hash", "hash"};
  try {
    switch (op % 4) {
      case 0:
        SqliteDatabase::Statement(db, std::string("UPDATE audit SET ") + kText[op / 4 % 8] +
                                          " = ? WHERE seq = ?")
            .bind(1, bytes).bind(2, seq).run();
        break;
      case 1:
        SqliteDatabase::Statement(db, "DELETE FROM audit WHERE seq = ?").bind(1, seq).run();
        break;
      case 2: {
        int64_t value = 0;
        for (std::size_t i = 0; i < bytes.size() && i < 8; ++i) {
          value = int64_t(uint64_t(value) | uint64_t(uint8_t(bytes[i])) << (8 * i));
        }
        SqliteDatabase::Statement(db, "UPDATE audit SET seq = ? WHERE seq = ?")
            .bind(1, value).bind(2, seq).run();
        break;
      }
      default:
        fedxray::fuzz::write_input(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                   fs::path(head).filename().string());
    }
  } catch (const fedxray::Error&) {
    // The edit itself was refused (a duplicate seq): the log stays as it was.
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string work = fedxray::fuzz::temp_folder() + "/state.db";
  for (const char* suffix : {"", "-wal", "-shm", "-audit-head"}) fs::remove(work + suffix);
  fs::copy_file(pristine(), work);
  fs::copy_file(pristine() + "-audit-head", work + "-audit-head");

  auto db = std::make_shared<SqliteDatabase>(work);
  fedxray::AuditLog log(db);
  std::size_t at = 0;
  while (at + 3 <= size) {
    const uint8_t op = data[at];
    const int64_t seq = 1 + data[at + 1] % 4;
    const std::size_t take = std::min<std::size_t>(data[at + 2], size - at - 3);
    apply_edit(*db, log.head_path(), op, seq,
               std::string(reinterpret_cast<const char*>(data + at + 3), take));
    at += 3 + take;
  }
  try {
    const fedxray::AuditVerdict verdict = log.verify();
    if (size < 3 && !verdict.intact) std::abort();
    if (verdict.intact == !verdict.problem.empty()) std::abort();
    (void)log.records(2);
    (void)log.records();
  } catch (const fedxray::Error&) {
  }
  return 0;
}

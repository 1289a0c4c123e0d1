// The coordinator's durable state: jobs, rounds, sites, and the hash-chained audit log, on real
// SQLite files.
#include <catch2/catch.hpp>

#include <filesystem>

#include "base/atomic_file.h"
#include "config/coordinator_config.h"
#include "base/error.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/sqlite_database.h"
#include "coordinator/store/state_database.h"
#include "test_support.h"

using namespace fedxray;
using fedxray::testing::TempDir;

TEST_CASE("jobs are queued in order, a running job is resumed first, names are unique") {
  TempDir dir;
  StateDatabase db(dir.path);
  db.add_job("first", "job: {name: first}", 3, "CN=alice,OU=admin");
  db.add_job("second", "job: {name: second}", 2, "CN=alice,OU=admin");
  REQUIRE_THROWS_WITH(db.add_job("first", "x", 1, "CN=bob"),
                      Catch::Contains("'first' was submitted before"));
  REQUIRE(db.next_job()->name == "first");
  db.set_job_status("second", "running", "");
  REQUIRE(db.next_job()->name == "second");  // left running: resume it before anything queued
  db.set_job_status("second", "completed", "all 2 rounds completed");
  REQUIRE(db.next_job()->name == "first");
  auto jobs = db.jobs();
  REQUIRE(jobs.size() == 2);
  REQUIRE(jobs[1].status == "completed");
  REQUIRE(!jobs[1].started_at.empty());
  REQUIRE(!jobs[1].finished_at.empty());
  REQUIRE(jobs[0].submitted_by == "CN=alice,OU=admin");
}

TEST_CASE("rounds survive reopening, running rounds become interrupted") {
  TempDir dir;
  {
    StateDatabase db(dir.path);
    db.add_job("j", "", 3, "test");
    db.round_started("j", 1, {"site-a", "site-b"});
    nlohmann::json record = {{"status", "completed"}, {"model_sha256", "abc"}, {"seconds", 1.5},
                             {"sites", {{{"site", "site-a"}, {"status", "reported"}},
                                        {{"site", "site-b"}, {"status", "failed"},
                                         {"reason", "late: the round deadline passed"}}}}};
    db.round_finished("j", 1, record, "000");
    db.round_started("j", 2, {"site-a"});
    db.site_round_state("j", 2, "site-a", "training", "");
  }
  StateDatabase db(dir.path);  // as after a crash
  auto rounds = db.rounds("j");
  REQUIRE(rounds.size() == 2);
  REQUIRE(rounds[0].status == "completed");
  REQUIRE(rounds[0].model_sha256 == "abc");
  REQUIRE(rounds[0].previous_sha256 == "000");
  REQUIRE(rounds[0].record["seconds"] == 1.5);
  REQUIRE(rounds[1].status == "running");
  auto sites = db.site_rounds("j", 1);
  REQUIRE(sites.size() == 2);
  REQUIRE(sites[1].state == "failed");
  REQUIRE(sites[1].reason == "late: the round deadline passed");
  REQUIRE(db.site_rounds("j", 2)[0].state == "training");
  REQUIRE(db.mark_interrupted("j", "coordinator restarted") == std::vector<int>{2});
  REQUIRE(db.rounds("j")[1].status == "interrupted");
  REQUIRE(db.job("j")->completed_rounds == 1);
  db.discard_rounds_from("j", 1, "checkpoint corrupt");
  REQUIRE(db.rounds("j")[0].status == "discarded");
  REQUIRE(db.job("j")->completed_rounds == 0);
}

TEST_CASE("the site registry keeps first seen and updates version and last seen") {
  TempDir dir;
  StateDatabase db(dir.path);
  db.site_joined("site-a", "fp1", "0.1.0");
  const std::string first = db.sites()[0].first_seen;
  db.site_joined("site-a", "fp2", "0.2.0");
  db.site_seen("site-a");
  auto sites = db.sites();
  REQUIRE(sites.size() == 1);
  REQUIRE(sites[0].first_seen == first);
  REQUIRE(sites[0].fingerprint == "fp2");
  REQUIRE(sites[0].version == "0.2.0");
  REQUIRE(sites[0].last_seen >= first);
}

TEST_CASE("the site registry keeps each site's certificate expiry, and an older database gains "
          "the column") {
  TempDir dir;
  {
    // The registry as coordinators before this release made it.
    SqliteDatabase old((std::filesystem::path(dir.path) / "coordinator.db").string());
    old.exec("CREATE TABLE sites(name TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, version TEXT "
             "NOT NULL, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL);"
             "INSERT INTO sites VALUES('site-a', 'fp', '0.9.0', '2026-01-01T00:00:00.000Z', "
             "'2026-01-02T00:00:00.000Z');");
  }
  StateDatabase db(dir.path);
  REQUIRE(db.sites().size() == 1);
  CHECK(db.sites()[0].certificate_not_after == 0);  // not known until the site joins again
  db.site_joined("site-a", "fp2", "1.0.0", 1893456000);
  CHECK(db.sites()[0].certificate_not_after == 1893456000);
  CHECK(db.sites()[0].first_seen == "2026-01-01T00:00:00.000Z");
}

TEST_CASE("the audit log detects an edited, a deleted and a truncated record") {
  TempDir dir;
  StateDatabase state(dir.path);
  AuditLog audit(state.connection());
  REQUIRE(audit.verify().intact);
  for (int i = 0; i < 5; ++i) {
    audit.append("CN=alice,OU=admin", "submit", "job j" + std::to_string(i), "ok");
  }
  REQUIRE(audit.verify().intact);
  REQUIRE(audit.verify().records == 5);
  REQUIRE(audit.records(2).size() == 2);
  REQUIRE(audit.records(2)[1].target == "job j4");
  SqliteDatabase& db = *state.connection();

  SECTION("edited") {
    db.exec("UPDATE audit SET actor = 'CN=mallory,OU=admin' WHERE seq = 3");
    auto v = audit.verify();
    REQUIRE_FALSE(v.intact);
    REQUIRE_THAT(v.problem, Catch::Contains("record 3") && Catch::Contains("edited"));
  }
  SECTION("edited with its hash recomputed") {
    AuditRecord r = audit.records()[2];
    r.outcome = "refused";
    db.exec("UPDATE audit SET outcome = 'refused', hash = '" + audit_hash(r) + "' WHERE seq = 3");
    auto v = audit.verify();
    REQUIRE_FALSE(v.intact);
    REQUIRE_THAT(v.problem, Catch::Contains("record 4") && Catch::Contains("does not link"));
  }
  SECTION("deleted in the middle") {
    db.exec("DELETE FROM audit WHERE seq = 2");
    auto v = audit.verify();
    REQUIRE_FALSE(v.intact);
    REQUIRE_THAT(v.problem, Catch::Contains("record 2 is missing"));
  }
  SECTION("newest deleted") {
    db.exec("DELETE FROM audit WHERE seq = 5");
    auto v = audit.verify();
    REQUIRE_FALSE(v.intact);
    REQUIRE_THAT(v.problem, Catch::Contains("newest records were deleted"));
  }
  SECTION("appending after a verified log keeps it intact across reopening") {
    AuditLog again(StateDatabase(dir.path).connection());
    again.append("CN=site-a,OU=site", "upload", "job j round 1", "ok");
    REQUIRE(again.verify().intact);
    REQUIRE(again.verify().records == 6);
  }
}

TEST_CASE("an unwritable state folder is a clear error") {
  TempDir dir;
  write_file_atomically(dir.path + "/file", "x");
  REQUIRE_THROWS_WITH(StateDatabase(dir.path + "/file/sub"),
                      Catch::Contains("coordinator.state_dir"));
}

TEST_CASE("a rebuilt audit chain with a rewritten head is caught by the keyed head") {
  TempDir dir;
  StateDatabase state(dir.path);
  const std::string key(32, 'k');
  AuditLog audit(state.connection(), key);
  for (int i = 0; i < 3; ++i) audit.append("CN=alice,OU=admin", "abort", "job j" + std::to_string(i), "ok");
  REQUIRE(audit.verify().intact);
  REQUIRE(AuditLog(state.connection(), key).verify().intact);  // a restart with the same key

  // Someone with write access to the database and the head file, but not to the key, rewrites
  // record 2 and every hash after it, then the head, so the chain itself is consistent again.
  SqliteDatabase& db = *state.connection();
  std::vector<AuditRecord> rs = audit.records();
  rs[1].outcome = "refused";
  for (std::size_t i = 1; i < rs.size(); ++i) {
    rs[i].previous_hash = rs[i - 1].hash;
    rs[i].hash = audit_hash(rs[i]);
    db.exec("UPDATE audit SET outcome = '" + rs[i].outcome + "', previous_hash = '" +
            rs[i].previous_hash + "', hash = '" + rs[i].hash + "' WHERE seq = " +
            std::to_string(rs[i].seq));
  }
  write_file_atomically(audit.head_path(), "3 " + rs.back().hash + "\n");
  CHECK(AuditLog(state.connection()).verify().intact);  // unkeyed, the rebuild would pass
  auto v = audit.verify();
  CHECK_FALSE(v.intact);
  CHECK_THAT(v.problem, Catch::Contains("not written with this coordinator's audit key"));
  write_file_atomically(audit.head_path(), "3 " + rs.back().hash + " " + std::string(64, '0') + "\n");
  CHECK_FALSE(audit.verify().intact);  // nor with a made-up HMAC
}

TEST_CASE("the coordinator's audit key must live outside its state folder") {
  TempDir dir;
  write_file_atomically(dir.path + "/coordinator.yaml",
                        "coordinator:\n  listen: 127.0.0.1:0\n  certificate: c.crt\n"
                        "  private_key: c.key\n  ca_certificate: ca.crt\n  state_dir: state\n"
                        "  audit_key: state/audit.key\n");
  CHECK_THROWS_WITH(load_coordinator_config(dir.path + "/coordinator.yaml"),
                    Catch::Contains("audit_key") && Catch::Contains("inside state_dir"));
  write_file_atomically(dir.path + "/coordinator.yaml",
                        "coordinator:\n  listen: 127.0.0.1:0\n  certificate: c.crt\n"
                        "  private_key: c.key\n  ca_certificate: ca.crt\n  state_dir: state\n");
  CHECK(load_coordinator_config(dir.path + "/coordinator.yaml").audit_key ==
        dir.path + "/audit-head.key");
}

TEST_CASE("a keyed audit log emptied together with its head is caught") {
  TempDir dir;
  StateDatabase state(dir.path);
  const std::string key(32, 'k');
  AuditLog audit(state.connection(), key);
  REQUIRE(audit.verify().intact);  // signed from the start, with no record yet
  audit.append("CN=alice,OU=admin", "submit", "job j", "ok");
  REQUIRE(audit.verify().intact);
  state.connection()->exec("DELETE FROM audit");
  std::filesystem::remove(audit.head_path());
  CHECK_FALSE(audit.verify().intact);
  write_file_atomically(audit.head_path(), "0 " + std::string(64, '0') + "\n");  // unsigned
  CHECK_FALSE(audit.verify().intact);
}

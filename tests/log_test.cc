// Structured logs: one JSON object per line, with job, round and site lifted from the message.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "common/log.h"

using namespace fedxray;

TEST_CASE("a JSON log line carries time, level, job, round, site and the message", "[log]") {
  const std::string line = json_log_line("2026-11-23T10:00:00.000Z", "warning",
                                         "job=wrist round=3 site=site-b failed: \"quoted\" \\ text");
  REQUIRE(line.back() == '\n');
  REQUIRE(line.find('\n') == line.size() - 1);  // exactly one line, whatever the message
  const auto j = nlohmann::json::parse(line);
  CHECK(j["time"] == "2026-11-23T10:00:00.000Z");
  CHECK(j["level"] == "warning");
  CHECK(j["job"] == "wrist");
  CHECK(j["round"] == 3);
  CHECK(j["site"] == "site-b");
  CHECK(j["msg"] == "job=wrist round=3 site=site-b failed: \"quoted\" \\ text");
  // Without the tokens the fields are null, and a multi-line message stays one line.
  const auto k = nlohmann::json::parse(json_log_line("t", "info", "coordinator listening\non 1.2.3.4"));
  CHECK(k["job"].is_null());
  CHECK(k["round"].is_null());
  CHECK(k["msg"] == "coordinator listening\non 1.2.3.4");
}

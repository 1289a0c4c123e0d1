// Structured logs: one JSON object per line, with job, round and site lifted from the message.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

#include "base/log.h"

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

TEST_CASE("a site-supplied string cannot forge a text log line or send terminal escapes", "[log]") {
  CHECK(escape_log_text("plain text, 'quoted' and \\ kept") == "plain text, 'quoted' and \\ kept");
  CHECK(escape_log_text("x\n2026-01-01 info forged\r\t\x1b[31m\x7f") ==
        "x\\n2026-01-01 info forged\\r\\t\\x1b[31m\\x7f");
  CHECK(escape_log_text("cafe\xc3\xa9") == "cafe\xc3\xa9");  // UTF-8 passes through

  // The text format applies it to every message.
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "escape-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(logger);
  init_logging("info", "text");
  spdlog::warn("site={} said: {}", "site-b", "ok\n2026-11-29T00:00:00.000 info forged line");
  spdlog::set_default_logger(previous);
  init_logging("info", "text");
  const std::string text = out.str();
  CHECK(std::count(text.begin(), text.end(), '\n') == 1);
  CHECK_THAT(text, Catch::Contains("said: ok\\n2026-11-29T00:00:00.000 info forged line"));
}

// Logging: one spdlog logger for the process, with gRPC's own messages (TLS handshake failures
// among them) routed into it so refused connections appear in the same log as everything else.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace fedxray {

// level: "trace", "debug", "info", "warn", "error". format: "text" (one readable line per event)
// or "json" (one JSON object per line, for log shippers). Safe to call more than once.
void init_logging(const std::string& level = "info", const std::string& format = "text");

// The JSON form of one log event: {"time", "level", "job", "round", "site", "msg"}; job, round
// and site are taken from the message's `job=`, `round=` and `site=` tokens (the project's
// convention) and are null when absent.
std::string json_log_line(const std::string& time, const std::string& level,
                          const std::string& message);

// `text` with control characters written as escapes (\n, \r, \t, \xNN), so that a string a
// site or a file supplied cannot start a forged log line or send terminal escape codes. The text
// log format applies it to every message; JSON escapes by itself.
std::string escape_log_text(const std::string& text);

}  // namespace fedxray

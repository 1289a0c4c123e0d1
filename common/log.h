// Logging: one spdlog logger for the process, with gRPC's own messages (TLS handshake failures
// among them) routed into it so refused connections appear in the same log as everything else.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace fedxray {

// level: "trace", "debug", "info", "warn", "error". Safe to call more than once.
void init_logging(const std::string& level = "info");

}  // namespace fedxray

#include "base/log.h"

#include <grpc/support/log.h>

#include <ctime>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>

namespace fedxray {
namespace {

void route_grpc_log(gpr_log_func_args* args) {
  // gRPC reports failed TLS handshakes (no client certificate, unknown CA) here.
  const std::string message = args->message;
  if (message.find("Handshake failed") != std::string::npos) {
    spdlog::warn("refused a TLS connection: {} (a client without a certificate from the "
                 "consortium CA, or with an expired or foreign one)", message);
    return;
  }
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    spdlog::warn("grpc: {}", args->message);
  } else {
    spdlog::debug("grpc: {}", args->message);
  }
}

class JsonFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto since = msg.time.time_since_epoch();
    const std::time_t seconds = std::chrono::duration_cast<std::chrono::seconds>(since).count();
    const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since).count() % 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[96];  // room for any int in each field, so the compiler sees no truncation
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, int(millis));
    const auto level = spdlog::level::to_string_view(msg.level);
    const std::string line = json_log_line(stamp, std::string(level.data(), level.size()),
                                           std::string(msg.payload.data(), msg.payload.size()));
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The text format: spdlog's pattern over the message with its control characters escaped.
class TextFormatter : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string escaped = escape_log_text(std::string(msg.payload.data(), msg.payload.size()));
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    pattern_.format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  spdlog::pattern_formatter pattern_{"%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v"};
};

}  // namespace

std::string escape_log_text(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char* kHex = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += char(c);
        }
    }
  }
  return out;
}

std::string json_log_line(const std::string& time, const std::string& level,
                          const std::string& message) {
  nlohmann::json line = {{"time", time}, {"level", level}, {"job", nullptr},
                         {"round", nullptr}, {"site", nullptr}, {"msg", message}};
  std::istringstream words(message);
  for (std::string word; words >> word;) {
    const auto eq = word.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = word.substr(0, eq), value = word.substr(eq + 1);
    if (key == "job" || key == "site") {
      if (line[key].is_null()) line[key] = value;
    } else if (key == "round" && line["round"].is_null()) {
      try {
        line["round"] = std::stoi(value);
      } catch (const std::exception&) {
      }
    }
  }
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

void init_logging(const std::string& level, const std::string& format) {
  spdlog::set_level(spdlog::level::from_str(level));
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  } else {
    spdlog::set_formatter(std::make_unique<TextFormatter>());
  }
  gpr_set_log_function(route_grpc_log);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
}

}  // namespace fedxray

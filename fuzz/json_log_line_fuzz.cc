// Feeds the input to json_log_line (base/log.h), which the JSON log format runs on every log
// message: the bytes up to the first NUL are the level, the rest the message (or all of it when
// there is no NUL). Messages carry site- and file-supplied text, so any bytes are possible.
// Finding: any exception (none is documented), output that is not exactly one line of JSON
// with the six documented fields, a `round` that is neither null nor an integer, or any crash,
// leak or sanitizer report.
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string input = fedxray::fuzz::as_string(data, size);
  const std::size_t nul = input.find('\0');
  const std::string level = nul == std::string::npos ? "info" : input.substr(0, nul);
  const std::string message = nul == std::string::npos ? input : input.substr(nul + 1);
  const std::string line = fedxray::json_log_line("2024-01-02T03:04:05.678Z", level, message);
  if (line.empty() || line.back() != '\n' || line.find('\n') != line.size() - 1) std::abort();
  const nlohmann::json parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object() || parsed.size() != 6) std::abort();
  for (const char* key : {"time", "level", "job", "round", "site", "msg"}) {
    if (!parsed.contains(key)) std::abort();
  }
  if (!parsed["round"].is_null() && !parsed["round"].is_number_integer()) std::abort();
  if (!parsed["msg"].is_string()) std::abort();
  return 0;
}

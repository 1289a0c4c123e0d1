// Feeds a WADO-RS reply to split_multipart_related (data/multipart_related.h): the first line is
// the Content-Type header, the rest the body, as a PACS would send them. Finding: anything but
// fedxray::Error, a part that is not a piece of the body, or any crash or sanitizer report.
#include <cstdlib>
#include <string>

#include "base/error.h"
#include "data/multipart_related.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t newline = input.find('\n');
  const std::string content_type = input.substr(0, newline);
  const std::string body = newline == std::string::npos ? "" : input.substr(newline + 1);
  try {
    for (const auto& part : fedxray::split_multipart_related(content_type, body)) {
      if (part.body.size() > body.size()) std::abort();
      if (!part.body.empty() && body.find(part.body) == std::string::npos) std::abort();
    }
  } catch (const fedxray::Error&) {
  }
  return 0;
}

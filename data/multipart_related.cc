#include "data/multipart_related.h"

#include <algorithm>
#include <cctype>

#include "base/error.h"

namespace fedxray {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  const std::size_t b = s.find_last_not_of(" \t");
  return s.substr(a, b - a + 1);
}

// The boundary parameter of a Content-Type header.
std::string boundary_of(const std::string& content_type) {
  const std::string l = lower(content_type);
  if (l.rfind("multipart/", 0) != 0) {
    throw Error("the response is \"" + content_type + "\", not multipart/related");
  }
  std::size_t at = 0;
  while ((at = l.find("boundary", at)) != std::string::npos) {
    std::size_t p = at + 8;
    while (p < l.size() && l[p] == ' ') ++p;
    if (p < l.size() && l[p] == '=' && (at == 0 || l[at - 1] == ';' || l[at - 1] == ' ')) {
      ++p;
      while (p < l.size() && l[p] == ' ') ++p;
      std::string value;
      if (p < content_type.size() && content_type[p] == '"') {
        const std::size_t end = content_type.find('"', p + 1);
        if (end == std::string::npos) break;
        value = content_type.substr(p + 1, end - p - 1);
      } else {
        const std::size_t end = content_type.find(';', p);
        value =
            trim(content_type.substr(p, end == std::string::npos ? std::string::npos : end - p));
      }
      if (value.empty() || value.size() > 70) break;  // RFC 2046: 1-70 characters
      return value;
    }
    at += 8;
  }
  throw Error("the multipart response's Content-Type has no usable boundary (\"" + content_type +
              "\")");
}

}  // namespace

std::vector<MultipartPart> split_multipart_related(const std::string& content_type,
                                                   const std::string& body) {
  const std::string delimiter = "--" + boundary_of(content_type);
  std::size_t at = body.find(delimiter);
  if (at == std::string::npos) throw Error("the multipart body has no opening delimiter");
  std::vector<MultipartPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.compare(at, 2, "--") == 0) return parts;  // the closing delimiter
    // The rest of the delimiter line (transport padding), then the part's headers.
    const std::size_t line_end = body.find("\r\n", at);
    if (line_end == std::string::npos)
      throw Error("the multipart body ends inside a delimiter line");
    const std::size_t headers_end = body.find("\r\n\r\n", line_end);
    const std::size_t next = body.find("\r\n" + delimiter, line_end);
    if (next == std::string::npos) throw Error("the multipart body has no closing delimiter");
    MultipartPart part;
    std::size_t content = 0;
    if (body.compare(line_end, 4, "\r\n\r\n") == 0) {
      content = line_end + 4;  // a part without headers
    } else if (headers_end == std::string::npos || headers_end > next) {
      throw Error("a part of the multipart body has no blank line after its headers");
    } else {
      content = headers_end + 4;
      std::size_t h = line_end + 2;
      while (h < headers_end + 2) {
        const std::size_t e = body.find("\r\n", h);
        const std::string header = body.substr(h, e - h);
        const std::size_t colon = header.find(':');
        if (colon != std::string::npos && lower(trim(header.substr(0, colon))) == "content-type") {
          part.content_type = trim(header.substr(colon + 1));
        }
        h = e + 2;
      }
    }
    if (content > next) throw Error("a part of the multipart body is malformed");
    part.body = body.substr(content, next - content);
    parts.push_back(std::move(part));
    at = next + 2;
  }
}

}  // namespace fedxray

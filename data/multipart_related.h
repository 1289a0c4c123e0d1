// Splitting a DICOMweb WADO-RS response (RFC 2387 multipart/related, PS3.18 8.6) into its parts.
//
// Contract: `content_type` is the response's Content-Type header (its boundary parameter is
// required, quoted or not); returns each part's body without its headers, in order. A body
// that does not follow the format (no boundary, no opening or closing delimiter, a part
// without a blank line after its headers) throws fedxray::Error saying which, never reads out
// of bounds: the PACS is not trusted to send well-formed data.
#pragma once

#include <string>
#include <vector>

namespace fedxray {

struct MultipartPart {
  std::string content_type;  // the part's own Content-Type header, empty when absent
  std::string body;
};

std::vector<MultipartPart> split_multipart_related(const std::string& content_type,
                                                   const std::string& body);

}  // namespace fedxray

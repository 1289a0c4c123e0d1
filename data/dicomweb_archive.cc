#include "data/dicomweb_archive.h"

#include <set>

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "base/private_file.h"
#include "data/multipart_related.h"

namespace fedxray {
namespace {

constexpr std::size_t kMaxQueryReply = std::size_t(64) << 20;
constexpr std::size_t kMaxInstance = std::size_t(1) << 30;
constexpr int kPageSize = 500;
constexpr std::size_t kMaxStudies = 1000000;

std::string percent_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(char(c));
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The first value of attribute `tag` ("0020000D") of one QIDO result, or "" when absent. A
// Person Name value is an object; only string values are read.
std::string first_value(const nlohmann::json& result, const char* tag) {
  if (!result.is_object()) return "";
  const auto a = result.find(tag);
  if (a == result.end() || !a->is_object()) return "";
  const auto v = a->find("Value");
  if (v == a->end() || !v->is_array() || v->empty()) return "";
  const nlohmann::json& first = (*v)[0];
  if (first.is_string()) return first.get<std::string>();
  if (first.is_number_integer()) return std::to_string(first.get<long long>());
  return "";
}

nlohmann::json parse_results(const std::string& body, const std::string& target) {
  if (body.empty()) return nlohmann::json::array();  // 204 No Content: no match
  nlohmann::json results;
  try {
    results = nlohmann::json::parse(body);
  } catch (const std::exception& e) {
    throw Error("QIDO-RS " + target + ": the reply is not JSON (" + e.what() + ")");
  }
  if (!results.is_array()) throw Error("QIDO-RS " + target + ": the reply is not a JSON array");
  return results;
}

}  // namespace

DicomWebArchive::DicomWebArchive(const PacsConfig& config) : url_(config.url) {
  const std::size_t scheme_end = url_.find("://");
  const std::size_t path_start = url_.find('/', scheme_end + 3);
  const std::string origin = url_.substr(0, path_start);
  base_path_ = path_start == std::string::npos ? "" : url_.substr(path_start);
  while (!base_path_.empty() && base_path_.back() == '/') base_path_.pop_back();
  const bool https = url_.rfind("https://", 0) == 0;
  if (!https && (!config.client_certificate.empty() || !config.ca_certificate.empty())) {
    throw ConfigError("data.pacs.url is http:// but certificates are configured; use https://");
  }
  if (!config.client_certificate.empty()) {
    client_ =
        std::make_unique<httplib::Client>(origin, config.client_certificate, config.client_key);
  } else {
    client_ = std::make_unique<httplib::Client>(origin);
  }
  if (!client_->is_valid()) throw ConfigError("data.pacs.url: cannot use \"" + url_ + "\"");
  if (https) {
    if (!config.ca_certificate.empty()) client_->set_ca_cert_path(config.ca_certificate);
    client_->enable_server_certificate_verification(true);
  }
  if (!https && (!config.username.empty() || !config.bearer_token_file.empty()) &&
      !config.allow_credentials_over_http) {
    throw ConfigError(
        "data.pacs.url is http:// and would send the PACS credentials in clear; use "
        "https://, or set data.pacs.allow_credentials_over_http: true on a network "
        "you trust");
  }
  if (!config.username.empty()) {
    client_->set_basic_auth(config.username,
                            read_private_credential(config.password_file, "PACS password",
                                                    "data.pacs.password_file"));
  }
  if (!config.bearer_token_file.empty()) {
    client_->set_bearer_token_auth(read_private_credential(
        config.bearer_token_file, "PACS bearer token", "data.pacs.bearer_token_file"));
  }
  const auto seconds = time_t(config.timeout_seconds);
  client_->set_connection_timeout(std::min<time_t>(seconds, 10));
  client_->set_read_timeout(seconds);
  client_->set_write_timeout(seconds);
  client_->set_keep_alive(true);
}

DicomWebArchive::~DicomWebArchive() = default;

std::string DicomWebArchive::get(const std::string& target, const std::string& accept,
                                 std::size_t max_bytes, std::string* content_type) {
  std::string body;
  bool too_big = false;
  httplib::Headers headers{{"Accept", accept}};
  auto result = client_->Get(
      base_path_ + target, headers, [](const httplib::Response&) { return true; },
      [&](const char* data, std::size_t length) {
        if (body.size() + length > max_bytes) {
          too_big = true;
          return false;
        }
        body.append(data, length);
        return true;
      });
  const std::string what = url_ + target;
  if (too_big) {
    throw Error(what + ": the reply is larger than " + std::to_string(max_bytes >> 20) +
                " MiB; refused");
  }
  if (!result) {
    const httplib::Error e = result.error();
    const std::string why = httplib::to_string(e);
    if (e == httplib::Error::SSLServerVerification || e == httplib::Error::SSLConnection ||
        e == httplib::Error::SSLLoadingCerts) {
      throw Error(what + ": TLS failed (" + why +
                  "); check data.pacs.ca_certificate and the client certificate");
    }
    const char* plain = e == httplib::Error::Connection          ? "cannot connect"
                        : e == httplib::Error::ConnectionTimeout ? "connection timed out"
                        : e == httplib::Error::Read  ? "the connection broke while reading"
                        : e == httplib::Error::Write ? "the connection broke while writing"
                                                     : nullptr;
    throw PacsUnavailable(what + ": " + (plain ? plain : why));
  }
  const int status = result->status;
  if (status == 401 || status == 403) {
    throw Error(what + ": the PACS refused the credentials (HTTP " + std::to_string(status) +
                "); check data.pacs.username/password_file or bearer_token_file");
  }
  if (status == 429 || status >= 500) {
    throw PacsUnavailable(what + ": HTTP " + std::to_string(status) +
                          " (the PACS is busy or failing)");
  }
  if (status == 204) return "";
  if (status != 200) throw Error(what + ": HTTP " + std::to_string(status));
  if (content_type) *content_type = result->get_header_value("Content-Type");
  return body;
}

void DicomWebArchive::ping() {
  parse_results(get("/studies?limit=1", "application/dicom+json", kMaxQueryReply), "/studies");
}

std::vector<PacsStudy> DicomWebArchive::find_studies(const PacsQuery& query) {
  std::string filter = "includefield=00080050&includefield=00100020";
  if (!query.study_date.empty()) filter += "&StudyDate=" + percent_encode(query.study_date);
  if (!query.modality.empty()) filter += "&ModalitiesInStudy=" + percent_encode(query.modality);
  std::vector<PacsStudy> studies;
  std::set<std::string> seen;
  // Pages until one is empty or brings nothing new: a PACS may cap a page below the limit asked
  // for, or ignore the offset (then the same page comes back, and that ends it).
  for (std::size_t offset = 0;;) {
    const std::string target = "/studies?" + filter + "&limit=" + std::to_string(kPageSize) +
                               "&offset=" + std::to_string(offset);
    const nlohmann::json results =
        parse_results(get(target, "application/dicom+json", kMaxQueryReply), target);
    std::size_t fresh = 0;
    for (const auto& r : results) {
      PacsStudy s;
      try {
        s.study_uid = checked_pacs_uid(first_value(r, "0020000D"), "Study Instance UID");
      } catch (const Error& e) {
        spdlog::warn("QIDO-RS {}: a result skipped: {}", url_, e.what());
        continue;
      }
      if (!seen.insert(s.study_uid).second) continue;
      ++fresh;
      s.accession_number = first_value(r, "00080050");
      s.patient_id = first_value(r, "00100020");
      studies.push_back(std::move(s));
    }
    if (studies.size() > kMaxStudies) {
      throw Error(url_ + ": the query matches more than " + std::to_string(kMaxStudies) +
                  " studies; narrow it with data.pacs.study_date / modality");
    }
    if (fresh == 0) break;
    offset += results.size();
  }
  return studies;
}

std::vector<PacsInstance> DicomWebArchive::find_instances(const PacsStudy& study,
                                                          const PacsQuery& query) {
  const std::string study_path =
      "/studies/" + checked_pacs_uid(study.study_uid, "Study Instance UID");
  std::string filter;
  if (!query.modality.empty()) filter += "&Modality=" + percent_encode(query.modality);
  if (!query.body_part.empty()) filter += "&BodyPartExamined=" + percent_encode(query.body_part);
  const std::string series_target = study_path + "/series?includefield=0020000E" + filter;
  std::vector<PacsInstance> instances;
  for (const auto& series :
       parse_results(get(series_target, "application/dicom+json", kMaxQueryReply), series_target)) {
    const std::string series_uid =
        checked_pacs_uid(first_value(series, "0020000E"), "Series Instance UID");
    std::set<std::string> seen;  // a PACS that ignores the offset sends the same page again
    for (std::size_t offset = 0;;) {
      const std::string target = study_path + "/series/" + series_uid +
                                 "/instances?limit=" + std::to_string(kPageSize) +
                                 "&offset=" + std::to_string(offset);
      const nlohmann::json results =
          parse_results(get(target, "application/dicom+json", kMaxQueryReply), target);
      std::size_t fresh = 0;
      for (const auto& r : results) {
        std::string sop;
        try {
          sop = checked_pacs_uid(first_value(r, "00080018"), "SOP Instance UID");
        } catch (const Error& e) {
          spdlog::warn("QIDO-RS {}: a result skipped: {}", url_, e.what());
          continue;
        }
        if (!seen.insert(sop).second) continue;
        ++fresh;
        instances.push_back({study, series_uid, sop});
      }
      // A series of radiographs rarely fills a page: a short page is the last one.
      if (fresh == 0 || results.size() < std::size_t(kPageSize)) break;
      offset += results.size();
    }
  }
  return instances;
}

void DicomWebArchive::retrieve(const PacsInstance& instance, const std::string& path) {
  const std::string target =
      "/studies/" + checked_pacs_uid(instance.study.study_uid, "Study Instance UID") + "/series/" +
      checked_pacs_uid(instance.series_uid, "Series Instance UID") + "/instances/" +
      checked_pacs_uid(instance.sop_uid, "SOP Instance UID");
  std::string content_type;
  const std::string body =
      // transfer-syntax=*: as stored (PS3.18 8.7.3.5.2); without it the PACS must transcode to
      // Explicit VR Little Endian, which fails for syntaxes it cannot decode (JPEG 2000).
      get(target, "multipart/related; type=\"application/dicom\"; transfer-syntax=*", kMaxInstance,
          &content_type);
  std::vector<MultipartPart> parts;
  try {
    parts = split_multipart_related(content_type, body);
  } catch (const Error& e) {
    throw Error("WADO-RS " + url_ + target + ": " + e.what());
  }
  if (parts.size() != 1) {
    throw Error("WADO-RS " + url_ + target + ": expected one instance, the reply has " +
                std::to_string(parts.size()) + " parts");
  }
  write_file_atomically(path, parts[0].body, 0600);  // identifiable until gated
}

}  // namespace fedxray

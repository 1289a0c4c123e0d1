#include "config/site_config.h"

#include "config/config_reader.h"
#include "config/participant_name.h"

namespace fedxray {
namespace {

PacsConfig read_pacs_config(ConfigReader r) {
  PacsConfig p;
  p.protocol = r.choice("protocol", {"dicomweb", "dimse"}, p.protocol);
  if (p.protocol == "dicomweb") {
    p.url = r.string("url");
    if (p.url.rfind("http://", 0) != 0 && p.url.rfind("https://", 0) != 0) {
      r.fail("url",
             "must start with https:// (or http:// on a trusted network), e.g. "
             "https://pacs.hospital.local/dicom-web (got \"" +
                 p.url + "\")");
    }
    p.username = r.string("username", std::string());
    p.password_file = r.path("password_file", std::string());
    if (p.username.empty() != p.password_file.empty()) {
      r.fail(p.username.empty() ? "password_file" : "username",
             "username and password_file come together: set both or neither");
    }
    p.bearer_token_file = r.path("bearer_token_file", std::string());
    p.allow_credentials_over_http = r.boolean("allow_credentials_over_http", false);
    if (!p.bearer_token_file.empty() && !p.username.empty()) {
      r.fail("bearer_token_file",
             "use either basic credentials (username, password_file) or a "
             "bearer token, not both");
    }
  } else {
    p.host = r.string("host");
    p.port = int(r.integer("port", 1, 65535, p.port));
    p.called_ae = r.string("called_ae", p.called_ae);
    p.calling_ae = r.string("calling_ae", p.calling_ae);
    for (const char* key : {"called_ae", "calling_ae"}) {
      const std::string& ae = std::string(key) == "called_ae" ? p.called_ae : p.calling_ae;
      if (ae.empty() || ae.size() > 16 || ae.find('\\') != std::string::npos) {
        r.fail(key, "an AE title is 1-16 characters without a backslash (got \"" + ae + "\")");
      }
    }
  }
  if (p.protocol == "dicomweb" || r.boolean("tls", false)) {
    p.tls = p.protocol == "dimse";
    p.ca_certificate = r.path("ca_certificate", std::string());
    p.client_certificate = r.path("client_certificate", std::string());
    p.client_key = r.path("client_key", std::string());
    if (p.client_certificate.empty() != p.client_key.empty()) {
      r.fail(p.client_key.empty() ? "client_certificate" : "client_key",
             "client_certificate and client_key come together: set both or neither");
    }
    if (p.tls && (p.ca_certificate.empty() || p.client_certificate.empty())) {
      r.fail("tls",
             "DICOM TLS needs ca_certificate (the PACS's CA) and client_certificate / "
             "client_key (the agent's own, which the PACS must trust)");
    }
  }
  p.study_date = r.string("study_date", std::string());
  p.modality = r.string("modality", std::string());
  p.body_part = r.string("body_part", std::string());
  p.labels = r.path("labels");
  p.key_column =
      r.choice("key_column", {"", "accession_number", "study_instance_uid"}, std::string());
  p.cache = r.path("cache", std::string());
  p.cache_max_mb = r.integer("cache_max_mb", 1, int64_t(1) << 30, p.cache_max_mb);
  p.retries = int(r.integer("retries", 1, 100, p.retries));
  p.retry_seconds = r.number("retry_seconds", 0.0, 600.0, p.retry_seconds);
  p.timeout_seconds = r.number("timeout_seconds", 1.0, 3600.0, p.timeout_seconds);
  r.finish();
  return p;
}

}  // namespace

DataSourceConfig read_data_source_config(ConfigReader r) {
  DataSourceConfig d;
  d.source =
      r.choice("source", {"synthetic", "image_folder", "npz", "pacs"}, std::string("synthetic"));
  if (d.source == "npz") {
    d.file = r.path("file");
    d.train_split = r.string("train_split", d.train_split);
    d.held_out_split = r.string("held_out_split", d.held_out_split);
  }
  if (d.source == "image_folder" || d.source == "pacs") {
    if (d.source == "image_folder") {
      d.manifest = r.path("manifest");
      d.image_column = r.string("image_column", d.image_column);
      d.mask_column = r.string("mask_column", std::string());
      d.patient_column = r.string("patient_column", std::string());
    } else {
      d.pacs = read_pacs_config(r.section("pacs"));
    }
    d.label_column = r.string("label_column", d.label_column);
    d.label_columns = r.string_list("label_columns", std::vector<std::string>{});
    d.class_names = r.string_list("class_names", std::vector<std::string>{});
    d.deid_cache = r.path("deid_cache", std::string());
    d.deid_secret_file = r.path("deid_secret_file", std::string());
    d.allow_burned_in_annotation = r.boolean("allow_burned_in_annotation", false);
    d.allow_paths_outside_manifest_folder = r.boolean("allow_paths_outside_manifest_folder", false);
  }
  d.images = int(r.integer("images", 4, 10000000, 600));
  d.held_out_fraction = r.number("held_out_fraction", 0.01, 0.9, 0.2);
  d.seed = uint64_t(r.integer("seed", 0, INT64_MAX, 1));
  d.intensity_shift = r.number("intensity_shift", -0.5, 0.5, 0.0);
  r.finish();
  return d;
}

DataSourceConfig load_data_source_config(const std::string& file) {
  ConfigReader root = ConfigReader::load_file(file);
  if (root.has("site")) return read_data_source_config(root.section("site").section("data"));
  DataSourceConfig d = read_data_source_config(root.section("data"));
  root.finish();
  return d;
}

SiteConfig load_site_config(const std::string& file) {
  ConfigReader root = ConfigReader::load_file(file);
  ConfigReader r = root.section("site");
  SiteConfig c;
  c.name = r.string("name");
  if (!is_valid_participant_name(c.name)) {
    r.fail("name", "must be 1-63 lower-case letters, digits or '-' (got \"" + c.name + "\")");
  }
  c.coordinator = r.string("coordinator");
  if (c.coordinator.find(':') == std::string::npos) {
    r.fail("coordinator",
           "must be host:port, e.g. coordinator.example.org:50051 (got \"" + c.coordinator + "\")");
  }
  if (r.has("proxy")) c.proxy = read_http_proxy_config(r.section("proxy"));
  c.certificate = r.path("certificate");
  c.private_key = r.path("private_key");
  c.ca_certificate = r.path("ca_certificate");
  if (r.has("data")) c.data = read_data_source_config(r.section("data"));
  c.threads = int(r.integer("threads", 0, 256, 0));
  if (r.has("policy")) c.policy = read_site_policy(r.section("policy"));
  read_metrics_keys(r, "127.0.0.1:9465", c.metrics_listen, c.metrics_allow_remote, c.metrics_tls);
  c.personal_model_dir = r.path("personal_model_dir", std::string("personalised"));
  c.renew_certificate_days = int(r.integer("renew_certificate_days", 0, 365, c.renew_certificate_days));
  r.finish();
  root.finish();
  return c;
}

}  // namespace fedxray

#include "config/site_config.h"

#include "config/config_reader.h"
#include "config/participant_name.h"

namespace fedxray {

DataSourceConfig read_data_source_config(ConfigReader r) {
  DataSourceConfig d;
  d.source = r.choice("source", {"synthetic", "image_folder", "npz"}, std::string("synthetic"));
  if (d.source == "npz") {
    d.file = r.path("file");
    d.train_split = r.string("train_split", d.train_split);
    d.held_out_split = r.string("held_out_split", d.held_out_split);
  }
  if (d.source == "image_folder") {
    d.manifest = r.path("manifest");
    d.image_column = r.string("image_column", d.image_column);
    d.label_column = r.string("label_column", d.label_column);
    d.label_columns = r.string_list("label_columns", std::vector<std::string>{});
    d.mask_column = r.string("mask_column", std::string());
    d.class_names = r.string_list("class_names", std::vector<std::string>{});
    d.patient_column = r.string("patient_column", std::string());
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
    r.fail("coordinator", "must be host:port, e.g. coordinator.example.org:50051 (got \"" +
                              c.coordinator + "\")");
  }
  c.certificate = r.path("certificate");
  c.private_key = r.path("private_key");
  c.ca_certificate = r.path("ca_certificate");
  if (r.has("data")) c.data = read_data_source_config(r.section("data"));
  c.threads = int(r.integer("threads", 0, 256, 0));
  if (r.has("policy")) c.policy = read_site_policy(r.section("policy"));
  read_metrics_keys(r, "127.0.0.1:9465", c.metrics_listen, c.metrics_allow_remote, c.metrics_tls);
  c.personal_model_dir = r.path("personal_model_dir", std::string("personalised"));
  r.finish();
  root.finish();
  return c;
}

}  // namespace fedxray

#include "config/config_reader.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"

namespace fedxray {
namespace {

std::string scalar_text(const YAML::Node& node) {
  if (node.IsScalar()) return "\"" + node.Scalar() + "\"";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

YAML::Node parse_or_throw(const std::string& text, const std::string& file) {
  try {
    YAML::Node root = YAML::Load(text);
    if (root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
    if (!root.IsMap()) {
      throw ConfigError(file + ":1: the file must be a YAML mapping of keys to values");
    }
    return root;
  } catch (const YAML::Exception& e) {
    throw ConfigError(file + ":" + std::to_string(e.mark.line + 1) +
                      ": YAML syntax error: " + e.msg + "; fix the file and start again");
  }
}

}  // namespace

ConfigReader::ConfigReader(YAML::Node node, std::string file, std::string prefix)
    : node_(std::move(node)), file_(std::move(file)), prefix_(std::move(prefix)) {}

ConfigReader ConfigReader::load_file(const std::string& file) {
  std::ifstream in(file);
  if (!in) {
    throw ConfigError(file + ": cannot open the config file; check the path (it is resolved "
                      "against the current folder)");
  }
  std::stringstream text;
  text << in.rdbuf();
  return load_string(text.str(), file);
}

ConfigReader ConfigReader::load_string(const std::string& text, const std::string& file) {
  return ConfigReader(parse_or_throw(text, file), file, "");
}

bool ConfigReader::has(const std::string& key) const { return bool(node_[key]); }

bool ConfigReader::is_mapping(const std::string& key) const {
  const YAML::Node& self = node_;
  return self[key] && self[key].IsMap();
}

YAML::Node ConfigReader::value(const std::string& key) {
  seen_.insert(key);
  const YAML::Node& self = node_;
  YAML::Node v = self[key];
  return v ? v : YAML::Node();
}

int ConfigReader::line_of(const std::string& key) const {
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->first.Mark().line + 1;
  }
  return node_.Mark().line + 1;
}

std::string ConfigReader::dotted(const std::string& key) const {
  return prefix_.empty() ? key : prefix_ + "." + key;
}

std::string ConfigReader::where() const {
  return file_ + ":" + std::to_string(std::max(node_.Mark().line, 0) + 1);
}

void ConfigReader::fail(const std::string& key, const std::string& message) const {
  throw ConfigError(file_ + ":" + std::to_string(line_of(key)) + ": '" + dotted(key) + "' " +
                    message);
}

void ConfigReader::missing(const std::string& key) const {
  throw ConfigError(where() + ": missing required key '" + dotted(key) + "'; add it to " +
                    (prefix_.empty() ? std::string("the file") : "'" + prefix_ + "'"));
}

std::string ConfigReader::string(const std::string& key,
                                 const std::optional<std::string>& fallback) {
  YAML::Node v = value(key);
  if (!v || v.IsNull()) {
    if (fallback) return *fallback;
    missing(key);
  }
  if (!v.IsScalar()) fail(key, "must be a text value, got " + scalar_text(v));
  return v.Scalar();
}

std::string ConfigReader::choice(const std::string& key, const std::vector<std::string>& allowed,
                                 const std::optional<std::string>& fallback) {
  std::string s = string(key, fallback);
  for (const auto& a : allowed) {
    if (a == s) return s;
  }
  std::string list;
  for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
  fail(key, "must be one of: " + list + " (got \"" + s + "\")");
}

int64_t ConfigReader::integer(const std::string& key, int64_t min, int64_t max,
                              const std::optional<int64_t>& fallback) {
  YAML::Node v = value(key);
  if (!v || v.IsNull()) {
    if (fallback) return *fallback;
    missing(key);
  }
  const std::string range = "an integer from " + std::to_string(min) + " to " + std::to_string(max);
  if (!v.IsScalar()) fail(key, "must be " + range + ", got " + scalar_text(v));
  int64_t out = 0;
  std::size_t used = 0;
  try {
    out = std::stoll(v.Scalar(), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.Scalar().size()) {
    fail(key, "must be " + range + ", got " + scalar_text(v));
  }
  if (out < min || out > max) fail(key, "must be " + range + ", got " + v.Scalar());
  return out;
}

double ConfigReader::number(const std::string& key, double min, double max,
                            const std::optional<double>& fallback) {
  YAML::Node v = value(key);
  if (!v || v.IsNull()) {
    if (fallback) return *fallback;
    missing(key);
  }
  std::ostringstream range;
  range << "a number from " << min << " to " << max;
  if (!v.IsScalar()) fail(key, "must be " + range.str() + ", got " + scalar_text(v));
  double out = 0;
  std::size_t used = 0;
  try {
    out = std::stod(v.Scalar(), &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != v.Scalar().size() || !std::isfinite(out)) {
    fail(key, "must be " + range.str() + ", got " + scalar_text(v));
  }
  if (out < min || out > max) fail(key, "must be " + range.str() + ", got " + v.Scalar());
  return out;
}

bool ConfigReader::boolean(const std::string& key, const std::optional<bool>& fallback) {
  YAML::Node v = value(key);
  if (!v || v.IsNull()) {
    if (fallback) return *fallback;
    missing(key);
  }
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  fail(key, "must be true or false, got " + scalar_text(v));
}

std::vector<std::string> ConfigReader::string_list(
    const std::string& key, const std::optional<std::vector<std::string>>& fallback) {
  YAML::Node v = value(key);
  if (!v || v.IsNull()) {
    if (fallback) return *fallback;
    missing(key);
  }
  if (!v.IsSequence()) fail(key, "must be a list of text values, got " + scalar_text(v));
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.IsScalar()) fail(key, "must be a list of text values; an item is " + scalar_text(item));
    out.push_back(item.Scalar());
  }
  return out;
}

std::string ConfigReader::path(const std::string& key, const std::optional<std::string>& fallback) {
  std::string p = string(key, fallback);
  if (p.empty()) return p;
  std::filesystem::path fp(p);
  if (fp.is_absolute()) return p;
  return (std::filesystem::path(file_).parent_path() / fp).lexically_normal().string();
}

ConfigReader ConfigReader::section(const std::string& key) {
  YAML::Node v = value(key);
  if (!v || v.IsNull()) missing(key);
  if (!v.IsMap()) fail(key, "must be a mapping of keys to values, got " + scalar_text(v));
  return ConfigReader(v, file_, dotted(key));
}

std::vector<ConfigReader> ConfigReader::section_list(const std::string& key) {
  YAML::Node v = value(key);
  std::vector<ConfigReader> out;
  if (!v || v.IsNull()) return out;
  if (!v.IsSequence()) fail(key, "must be a list of mappings, got " + scalar_text(v));
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].IsMap()) fail(key, "item " + std::to_string(i) + " must be a mapping, got " + scalar_text(v[i]));
    out.push_back(ConfigReader(v[i], file_, dotted(key) + "[" + std::to_string(i) + "]"));
  }
  return out;
}

void ConfigReader::finish() const {
  std::string known;
  for (const auto& k : seen_) known += (known.empty() ? "" : ", ") + k;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!seen_.count(key)) {
      throw ConfigError(file_ + ":" + std::to_string(it->first.Mark().line + 1) +
                        ": unknown key '" + dotted(key) + "'; known keys here are: " + known);
    }
  }
}

void read_metrics_keys(ConfigReader& r, const std::string& example, std::string& listen,
                       bool& allow_remote, bool& tls) {
  listen = r.string("metrics_listen", std::string());
  if (!listen.empty() && listen.find(':') == std::string::npos) {
    r.fail("metrics_listen", "must be address:port, e.g. " + example + " (got \"" + listen + "\")");
  }
  allow_remote = r.boolean("metrics_allow_remote", false);
  tls = r.boolean("metrics_tls", false);
}

}  // namespace fedxray

// ConfigReader: strict, line-aware reading of one YAML mapping from a config file.
//
// Contract: every getter checks presence, type and range, and on failure throws ConfigError
// whose message is "<file>:<line>: '<dotted.key>' ..." followed by what would fix it. finish()
// throws on any key in the mapping that no getter asked for, so a typo never silently falls back
// to a default. Relative paths from path() are resolved against the config file's folder.
// Not thread-safe; cheap to copy (YAML nodes are shared handles).
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace fedxray {

class ConfigReader {
 public:
  // Parses `file`; a missing file or YAML syntax error throws ConfigError naming the line.
  static ConfigReader load_file(const std::string& file);
  // Parses YAML text as if it came from `file` (tests, embedded defaults).
  static ConfigReader load_string(const std::string& text, const std::string& file);

  bool has(const std::string& key) const;
  bool is_mapping(const std::string& key) const;

  std::string string(const std::string& key,
                     const std::optional<std::string>& fallback = std::nullopt);
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     const std::optional<std::string>& fallback = std::nullopt);
  int64_t integer(const std::string& key, int64_t min, int64_t max,
                  const std::optional<int64_t>& fallback = std::nullopt);
  double number(const std::string& key, double min, double max,
                const std::optional<double>& fallback = std::nullopt);
  bool boolean(const std::string& key, const std::optional<bool>& fallback = std::nullopt);
  std::vector<std::string> string_list(
      const std::string& key, const std::optional<std::vector<std::string>>& fallback = std::nullopt);
  // A file path; relative values are resolved against the config file's folder.
  std::string path(const std::string& key,
                   const std::optional<std::string>& fallback = std::nullopt);
  // A nested mapping, read with the same rules; the caller must call finish() on it.
  ConfigReader section(const std::string& key);
  // A list of mappings (keys named "<key>[i].<name>" in errors); empty when the key is absent.
  std::vector<ConfigReader> section_list(const std::string& key);

  // Throws ConfigError for the first key that no getter consumed.
  void finish() const;

  const std::string& file() const { return file_; }
  // "<file>:<line>" of the mapping itself, for errors that concern several keys.
  std::string where() const;
  // Throws ConfigError "<file>:<line of key>: '<prefix.key>' <message>".
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;

 private:
  ConfigReader(YAML::Node node, std::string file, std::string prefix);
  YAML::Node value(const std::string& key);  // marks key as seen; null node if absent
  int line_of(const std::string& key) const;
  std::string dotted(const std::string& key) const;
  [[noreturn]] void missing(const std::string& key) const;

  YAML::Node node_;
  std::string file_;
  std::string prefix_;
  std::set<std::string> seen_;
};

// The monitoring keys a coordinator and a site share: metrics_listen (address:port, checked
// for the colon; `example` goes into the error), metrics_allow_remote and metrics_tls.
void read_metrics_keys(ConfigReader& r, const std::string& example, std::string& listen,
                       bool& allow_remote, bool& tls);

}  // namespace fedxray

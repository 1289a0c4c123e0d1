#include "data/csv_manifest.h"

#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"

namespace fedxray {

CsvManifest CsvManifest::load(const std::string& path) {
  CsvManifest m;
  m.path_ = path;
  const std::string text = read_file(path);
  // Excel's "CSV UTF-8" starts with a byte-order mark; it is not part of the first column name.
  const std::size_t begin = text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false, after_quote = false;
  int line = 1, record_line = 1;
  auto end_field = [&] {
    record.push_back(field);
    field.clear();
    field_started = false;
    after_quote = false;
  };
  auto end_record = [&] {
    end_field();
    const bool blank = record.size() == 1 && record[0].empty();
    if (!blank) {
      if (m.header_.empty()) {
        m.header_ = record;
      } else {
        if (record.size() != m.header_.size()) {
          throw Error(path + ":" + std::to_string(record_line) + ": " +
                      std::to_string(record.size()) + " fields but the header has " +
                      std::to_string(m.header_.size()) + "; check for a stray comma or quote");
        }
        m.rows_.push_back(record);
        m.lines_.push_back(record_line);
      }
    }
    record.clear();
  };
  for (std::size_t i = begin; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (ch == '"') {
        quoted = false;
        after_quote = true;
      } else {
        if (ch == '\n') ++line;
        field.push_back(ch);
      }
      continue;
    }
    if (after_quote && ch != ',' && ch != '\n' && ch != '\r' && ch != ' ' && ch != '\t') {
      throw Error(path + ":" + std::to_string(line) + ": text after the closing quote of a field "
                  "(a quote inside a quoted field must be doubled: \"\"); fix the quoting on "
                  "that line");
    }
    if (after_quote && (ch == ' ' || ch == '\t')) continue;  // spacing after a quoted field
    if (ch == '"' && !field_started && field.empty()) {
      quoted = true;
      field_started = true;
    } else if (ch == ',') {
      end_field();
    } else if (ch == '\n') {
      end_record();
      record_line = ++line;
    } else if (ch != '\r') {
      field.push_back(ch);
      field_started = true;
    }
  }
  if (quoted) throw Error(path + ":" + std::to_string(record_line) + ": a quoted field never ends");
  if (!field.empty() || field_started || !record.empty()) end_record();
  if (m.header_.empty()) throw Error(path + ": the manifest is empty; it needs a header row");
  return m;
}

bool CsvManifest::has_column(const std::string& name) const {
  for (const auto& h : header_) {
    if (h == name) return true;
  }
  return false;
}

std::size_t CsvManifest::column(const std::string& name, const std::string& config_key) const {
  for (std::size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return i;
  }
  std::string present;
  for (const auto& h : header_) present += (present.empty() ? "" : ", ") + h;
  throw Error(path_ + ": no column '" + name + "' (" + config_key + "); the header has: " + present);
}

const std::string& CsvManifest::cell(std::size_t row, std::size_t column) const {
  return rows_[row][column];
}

std::string manifest_image_path(const std::string& manifest, const std::string& file,
                                bool allow_outside) {
  if (file.empty()) throw Error("the image path is empty");
  const std::filesystem::path relative(file);
  const std::string fix = "; list images by paths relative to the manifest's folder, or set "
                          "data.allow_paths_outside_manifest_folder: true in the site config";
  if (!allow_outside) {
    if (relative.is_absolute() || relative.has_root_path()) {
      throw Error("the image path is absolute" + fix);
    }
    for (const auto& part : relative) {
      if (part == "..") {
        throw Error("the image path has a '..' component, leaving the manifest's folder" + fix);
      }
    }
  }
  return (std::filesystem::path(manifest).parent_path() / relative).string();
}

std::string csv_field(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace fedxray

#include "site-agent/csv_manifest.h"

#include "common/atomic_file.h"
#include "common/error.h"

namespace fedxray {

CsvManifest CsvManifest::load(const std::string& path) {
  CsvManifest m;
  m.path_ = path;
  const std::string text = read_file(path);
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  int line = 1, record_line = 1;
  auto end_field = [&] {
    record.push_back(field);
    field.clear();
    field_started = false;
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
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (quoted) {
      if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else if (ch == '"') {
        quoted = false;
      } else {
        if (ch == '\n') ++line;
        field.push_back(ch);
      }
      continue;
    }
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
  if (!field.empty() || !record.empty()) end_record();
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

}  // namespace fedxray

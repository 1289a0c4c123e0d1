// CsvManifest: a CSV file with a header row, read by column name (RFC 4180 quoting: fields may
// be quoted, quotes doubled inside, commas and line breaks allowed inside quotes). A UTF-8
// byte-order mark at the start (Excel's "CSV UTF-8") is skipped. After a closing quote only
// spaces or tabs (ignored) may come before the next comma or line end; other text, as in
// `"a"b,1`, is an error naming the file and line.
//
// Errors throw fedxray::Error naming the file and, for a missing column, the columns it has.
// Row numbers given to callers are the file's line numbers of the data rows (header = line 1),
// so operators can find the row in a spreadsheet or editor.
#pragma once

#include <string>
#include <vector>

namespace fedxray {

class CsvManifest {
 public:
  static CsvManifest load(const std::string& path);

  const std::string& path() const { return path_; }
  std::size_t rows() const { return rows_.size(); }
  // Index of `name` in the header; throws naming the file, the wanted column and those present.
  std::size_t column(const std::string& name, const std::string& config_key) const;
  bool has_column(const std::string& name) const;
  const std::string& cell(std::size_t row, std::size_t column) const;
  int line(std::size_t row) const { return lines_[row]; }
  const std::vector<std::string>& header() const { return header_; }

 private:
  std::string path_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<int> lines_;
};

// `value` as one CSV field: quoted (quotes doubled) when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& value);

// The file a manifest row names: `file` resolved against the manifest's folder. Throws
// fedxray::Error (without the file name; the caller reports the row) for an empty, absolute or
// `..` path unless `allow_outside` is set.
std::string manifest_image_path(const std::string& manifest, const std::string& file,
                                bool allow_outside);

}  // namespace fedxray

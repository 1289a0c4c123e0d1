#include "cli/text_table.h"

#include <algorithm>

#include "data/csv_manifest.h"

namespace fedxray {

void TextTable::print(std::ostream& out) const {
  std::vector<std::size_t> width(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) width[i] = headers_[i].size();
  for (const auto& row : rows_) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      out << cell;
      if (i + 1 < width.size()) out << std::string(width[i] - cell.size() + 2, ' ');
    }
    out << "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

void TextTable::print_csv(std::ostream& out) const {
  auto line = [&](const std::vector<std::string>& cells) {
    for (std::size_t i = 0; i < cells.size(); ++i) out << (i ? "," : "") << csv_field(cells[i]);
    out << "\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

}  // namespace fedxray

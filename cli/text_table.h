// TextTable: the human-readable tables `fedxray admin` prints (columns padded to the widest
// cell), and the same rows as CSV for scripts.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace fedxray {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;
  void print_csv(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace fedxray

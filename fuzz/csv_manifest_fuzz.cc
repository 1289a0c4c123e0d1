// Feeds the input to CsvManifest::load (data/csv_manifest.h) as a manifest file, then reads
// every cell by column name as the data sources do. Finding: anything but fedxray::Error from
// load() or column(), data-row line numbers that do not increase, or any crash, leak or
// sanitizer report.
#include <cstdlib>

#include "base/error.h"
#include "fuzz/fuzz_support.h"
#include "data/csv_manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "manifest.csv");
  try {
    const fedxray::CsvManifest m = fedxray::CsvManifest::load(path);
    if (m.header().empty()) std::abort();
    int previous_line = 1;
    for (std::size_t row = 0; row < m.rows(); ++row) {
      if (m.line(row) <= previous_line) std::abort();
      previous_line = m.line(row);
    }
    for (const std::string& name : m.header()) {
      if (!m.has_column(name)) std::abort();
      const std::size_t c = m.column(name, "fuzz.column");
      if (c >= m.header().size()) std::abort();
      for (std::size_t row = 0; row < m.rows(); ++row) (void)m.cell(row, c).size();
    }
    if (!m.has_column("absent\x01")) {
      try {
        (void)m.column("absent\x01", "fuzz.column");
        std::abort();  // an absent column must be an Error
      } catch (const fedxray::Error&) {
      }
    }
  } catch (const fedxray::Error&) {
  }
  return 0;
}

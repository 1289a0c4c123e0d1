// Feeds the input to ModelFileReader (wire/model_file.h) as a .fxm file: open, ranged reads,
// read_all(), and the manifest checks of wire/model_blob.h on what it accepted. Finding:
// anything but fedxray::Error, an accepted manifest that manifest_problem() rejects, a file
// descriptor left open after the reader is gone (also when it refused the file), or any crash,
// leak or sanitizer report.
#include <cstdlib>

#include "base/error.h"
#include "wire/model_blob.h"
#include "wire/model_file.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "model.fxm");
  const int free_fd = fedxray::fuzz::lowest_free_fd();
  try {
    fedxray::ModelFileReader reader(path);
    const fedxray::wire::ModelManifest& m = reader.manifest();
    if (!fedxray::manifest_problem(m).empty()) std::abort();
    if (!fedxray::layout_difference(m, m).empty()) std::abort();
    (void)fedxray::element_count(m);
    std::string out;
    for (const auto& t : m.tensors()) {
      reader.read(t.offset(), std::size_t(t.nbytes()), out);
      if (out.size() != t.nbytes()) std::abort();
    }
    try {
      reader.read(m.total_bytes(), 1, out);
      std::abort();  // past the end must be refused
    } catch (const fedxray::Error&) {
    }
    const fedxray::ModelBlob blob = reader.read_all();
    if (blob.bytes.size() != m.total_bytes()) std::abort();
  } catch (const fedxray::Error&) {
  }
  if (fedxray::fuzz::lowest_free_fd() != free_fd) std::abort();  // leaked descriptor
  return 0;
}

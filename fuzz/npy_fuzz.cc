// Feeds the input to parse_npy (data/npz_archive.h) as one .npy member already in memory,
// then reads every element back as the NPZ data source does. Finding: anything but
// fedxray::Error, an accepted array whose data is not exactly elements() x item_size() bytes,
// or any crash, leak or sanitizer report (an allocation beyond -rss_limit_mb included).
#include <cstdlib>

#include "base/error.h"
#include "fuzz/fuzz_support.h"
#include "data/npz_archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  try {
    const fedxray::NpyArray a = fedxray::parse_npy(fedxray::fuzz::as_string(data, size),
                                                   "fuzz.npz:member.npy");
    if (a.data.size() != a.elements() * a.item_size()) std::abort();
    double sum = 0;
    for (std::size_t i = 0; i < a.elements(); ++i) sum += a.at(i);
    (void)sum;
  } catch (const fedxray::Error&) {
  }
  return 0;
}

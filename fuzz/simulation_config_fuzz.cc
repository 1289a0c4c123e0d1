// Feeds the input to load_simulation_file (config/simulation_config.h) as the YAML file it reads
// (job: and simulation:). Finding: anything but fedxray::Error (ConfigError is one), or any crash,
// leak or sanitizer report.
#include "base/error.h"
#include "config/simulation_config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "simulation.yaml");
  try {
    (void)fedxray::load_simulation_file(path);
  } catch (const fedxray::Error&) {
  }
  return 0;
}

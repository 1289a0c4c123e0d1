// Feeds the input to load_consortium_config (config/consortium_config.h) as the YAML file it reads.
// Finding: anything but fedxray::Error (ConfigError is one), or any crash, leak or sanitizer
// report.
#include "config/consortium_config.h"
#include "base/error.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "consortium.yaml");
  try {
    (void)fedxray::load_consortium_config(path);
  } catch (const fedxray::Error&) {
  }
  return 0;
}

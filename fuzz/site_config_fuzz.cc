// Feeds the input to load_site_config (config/site_config.h) as the YAML file it reads (and to
// load_data_source_config, which reads only its data: mapping). Finding: anything but
// fedxray::Error (ConfigError is one), or any crash, leak or sanitizer report.
#include "base/error.h"
#include "config/site_config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "site.yaml");
  try {
    (void)fedxray::load_site_config(path);
  } catch (const fedxray::Error&) {
  }
  try {
    (void)fedxray::load_data_source_config(path);
  } catch (const fedxray::Error&) {
  }
  return 0;
}

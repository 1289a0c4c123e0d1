// Feeds the input to load_job_config (config/job_config.h) as the YAML file it reads. Finding:
// anything but fedxray::Error (ConfigError is one), or any crash, leak or sanitizer report.
#include "base/error.h"
#include "config/job_config.h"
#include "fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string path = fedxray::fuzz::write_input(data, size, "job.yaml");
  try {
    (void)fedxray::load_job_config(path);
  } catch (const fedxray::Error&) {
  }
  return 0;
}

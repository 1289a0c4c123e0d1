// Helpers shared by the tests: temp folders, a throw-away consortium, small models.
#pragma once

#include <cstdint>
#include <string>

#include "config/job_config.h"
#include "wire/model_blob.h"
#include "pki/tls.h"

namespace fedxray::testing {

// A fresh folder under /tmp, removed with everything in it when the object dies.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

// Kits for consortium "test" (coordinator "coordinator" on 127.0.0.1/localhost, sites site-a to
// site-e, admin alice, researcher rita), provisioned once per test process. `other_ca` gives a second,
// unrelated consortium with the same participant names.
std::string kits_dir(bool other_ca = false);
TlsFiles kit(const std::string& name, bool other_ca = false);

// Where the real data sets live: $FEDXRAY_SHARED_DATA, else ../shared/data beside the repo.
// Tests that need a set call FEDXRAY_SKIP (tests/skip_test.h) when it is absent.
std::string shared_data_dir();

// A two-round cnn-small job for the end-to-end tests: `sites` sites every round, 120 s deadline.
JobConfig two_round_job(const std::string& name, int classes, int image_size, int sites,
                        int batch_size);

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_loopback_port();

// A torch-free model: float32 tensors of the given sizes plus one int64 counter, filled from seed.
ModelBlob make_model(const std::vector<int64_t>& float_sizes, uint64_t seed);
// A torch-free model with these values: float32 tensor "w" and int64 tensor "counter" {1}.
ModelBlob model_of(const std::vector<float>& weights, int64_t counter);

}  // namespace fedxray::testing

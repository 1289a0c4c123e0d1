// Inputs the fuzz targets (fuzz/) found to break a parser, each fed again to the same API: the
// parser must refuse it with a clean fedxray::Error (or handle it), never crash, leak or hang.
// The test name says what the input was; the fix is in the file the assertion exercises.
#include <catch2/catch.hpp>

#include <climits>
#include <filesystem>
#include <string>

#include "base/atomic_file.h"
#include "config/coordinator_config.h"
#include "base/error.h"
#include "wire/model_file.h"
#include "privacy/secagg/neighbour_graph.h"
#include "privacy/secagg/secure_aggregation_wire.h"
#include "privacy/secagg/shamir.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

int open_descriptors() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("a refused model file leaves no file descriptor open", "[fuzz]") {
  testing::TempDir dir;
  const std::string bad_magic = dir.path + "/bad-magic.fxm";
  const std::string short_file = dir.path + "/short.fxm";
  const std::string bad_manifest = dir.path + "/bad-manifest.fxm";
  write_file_atomically(bad_magic, std::string(100, 'x'));
  write_file_atomically(short_file, "FXMODEL1");
  // Right magic, a manifest length of 8 bytes that do not parse as a manifest.
  write_file_atomically(bad_manifest, std::string("FXMODEL1\x08\0\0\0\0\0\0\0", 16) +
                                          std::string(8, '\xff') + std::string(64, '0'));
  const int before = open_descriptors();
  for (int i = 0; i < 50; ++i) {
    for (const std::string& file : {bad_magic, short_file, bad_manifest}) {
      CHECK_THROWS_AS(ModelFileReader(file), Error);
    }
  }
  // 150 refusals: a leak would show as 150 more; allow for a stray descriptor of another thread.
  CHECK(open_descriptors() - before <= 2);
}

TEST_CASE("a Shamir share claiming a secret of 2^32 - 1 bytes with no values is malformed",
          "[fuzz]") {
  // x = 1, secret_bytes = 0xffffffff, no field elements: (secret_bytes + 3) / 4 wrapped to 0 in
  // 32 bits, so parse() accepted it and shamir_recover() then allocated 4 GiB for the secret.
  const std::string bytes("\x01\0\0\0\xff\xff\xff\xff", 8);
  CHECK_THROWS_AS(ShamirShare::parse(bytes), Error);

  ShamirShare forged;
  forged.x = 1;
  forged.secret_bytes = 0xffffffffu;
  CHECK_THROWS_AS(shamir_recover({forged}, 1), Error);
}

TEST_CASE("round params asking for INT_MAX neighbours give the complete graph", "[fuzz]") {
  // SecAggRoundParams.neighbours = 0x7fffffff arrives as int INT_MAX; rounding it up to even
  // overflowed int (UBSan: signed integer overflow in NeighbourGraph's constructor).
  wire::SecAggRoundParams params;
  for (const char* site : {"site-00", "site-01", "site-02"}) params.add_sites(site);
  params.set_threshold(2);
  params.set_neighbours(0x7fffffffu);
  const SecAggRound round = from_wire("job", 1, params);
  REQUIRE(round.neighbours == INT_MAX);
  const NeighbourGraph graph(round.sites, round.neighbours, "seed");
  CHECK(graph.degree() == 2);
  CHECK(graph.neighbours("site-01") == std::vector<std::string>{"site-00", "site-02"});
}

TEST_CASE("a coordinator config with an empty state_dir or audit_key is a config error",
          "[fuzz]") {
  // state_dir: "" reached std::filesystem::absolute(""), whose filesystem_error escaped the
  // loader and ended the coordinator with std::terminate instead of naming the key.
  testing::TempDir dir;
  const std::string file = dir.path + "/coordinator.yaml";
  const std::string head = "coordinator:\n  certificate: c.crt\n  private_key: c.key\n"
                           "  ca_certificate: ca.crt\n";
  write_file_atomically(file, head + "  state_dir: \"\"\n");
  CHECK_THROWS_WITH(load_coordinator_config(file),
                    Catch::Contains("'coordinator.state_dir' must not be empty"));
  write_file_atomically(file, head + "  audit_key: \"\"\n");
  CHECK_THROWS_WITH(load_coordinator_config(file),
                    Catch::Contains("'coordinator.audit_key' must not be empty"));
  write_file_atomically(file, head);
  CHECK_NOTHROW(load_coordinator_config(file));
}

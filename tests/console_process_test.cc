// The web console in a real browser: a coordinator with coordinator.console_listen, two site
// agents training a long job, and tests/console/console_test.mjs driving Debian's chromium
// (headless, puppeteer-core) with an admin's, a researcher's, a site's and no certificate.
// Screenshots of every page land in <build>/tests/console-screenshots/.
#include <catch2/catch.hpp>

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/atomic_file.h"
#include "tests/process_consortium.h"
#include "tests/process_support.h"
#include "tests/test_support.h"

#include "tests/skip_test.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

constexpr const char* kPolicy = "/etc/chromium/policies/managed/fedxray-console-tests.json";

// What the browser test needs that ./scripts/setup.sh installs; empty when all is there.
std::string missing_browser_tools() {
  const std::string modules = std::string(FEDXRAY_SOURCE_DIR) + "/tests/console/node_modules";
  for (const char* tool :
       {"/usr/bin/chromium", "/usr/bin/node", "/usr/bin/certutil", "/usr/bin/pk12util", kPolicy}) {
    if (::access(tool, R_OK) != 0) return tool;
  }
  if (!std::filesystem::exists(modules + "/puppeteer-core")) return modules + "/puppeteer-core";
  return "";
}

}  // namespace

TEST_CASE(
    "the web console in headless chromium: an admin sees the live round advance and the "
    "curves gain points, a researcher downloads but cannot abort, a site certificate and "
    "none are refused, a bad job file shows its line",
    "[console]") {
  const std::string missing = missing_browser_tools();
  if (!missing.empty()) {
    FEDXRAY_SKIP("the browser test needs " << missing << "; ./scripts/setup.sh installs it");
  }
  Consortium c("  researchers: [rita]\n", "fedxray-console-test");
  const int console_port = free_loopback_port();
  std::ofstream(c.kits() + "/coordinator/coordinator.yaml", std::ios::app)
      << "  console_listen: \"127.0.0.1:" << console_port << "\"\n";
  Process coordinator(c.coordinator_args(""), c.dir.path + "/coordinator.log");
  Process site_a(c.site_args("site-a", true), c.dir.path + "/site-a.log");
  Process site_b(c.site_args("site-b", true), c.dir.path + "/site-b.log");
  std::string out;
  for (int i = 0; i < 150 && run_fedxray(c.admin({"jobs"}), out) != 0; ++i) {
  }
  REQUIRE(run_fedxray(c.admin({"submit", c.write_job("live", 10000)}), out) == 0);
  REQUIRE(wait_for_rounds(
      c.state_dir(), "live", [](const std::vector<RoundRow>& r) { return completed(r) >= 1; },
      180));
  const std::string bad = c.dir.path + "/bad.yaml";
  write_file_atomically(bad,
                        "job:\n  name: bad\n  model: cnn-small\n  classes: 3\n"
                        "  image_size: 32\n  rounds: 0\n  sites_per_round: 2\n");
  const std::string artifacts = (std::filesystem::current_path() / "console-screenshots").string();
  std::filesystem::create_directories(artifacts);

  const std::string console = "https://127.0.0.1:" + std::to_string(console_port);
  for (const auto& [name, value] :
       std::vector<std::pair<const char*, std::string>>{{"CONSOLE", console},
                                                        {"KITS", c.kits()},
                                                        {"JOB", "live"},
                                                        {"BAD_JOB", bad},
                                                        {"ARTIFACTS", artifacts}}) {
    ::setenv(name, value.c_str(), 1);
  }
  Process browser("/usr/bin/node",
                  {std::string(FEDXRAY_SOURCE_DIR) + "/tests/console/console_test.mjs"},
                  c.dir.path + "/browser.log");
  const int rc = browser.wait(420);
  const std::string log = read_file(c.dir.path + "/browser.log");
  INFO(log);
  const std::string coordinator_log = read_file(c.dir.path + "/coordinator.log");
  INFO("coordinator log (end): " << coordinator_log.substr(
           coordinator_log.size() > 3000 ? coordinator_log.size() - 3000 : 0));
  CHECK(rc == 0);
  CHECK_THAT(log, Catch::Contains("console test: all passed"));
  CHECK(std::filesystem::exists(artifacts + "/job-live.png"));
  // The console's actions are in the audit log like the CLI's.
  REQUIRE(run_fedxray(c.admin({"audit", "--limit", "0"}), out) == 0);
  CHECK_THAT(out, Catch::Contains("CN=rita,OU=researcher") && Catch::Contains("download"));
  CHECK_THAT(out, Catch::Contains("abort") && Catch::Contains("from the console"));
  coordinator.kill(SIGTERM);
  coordinator.wait(30);
}

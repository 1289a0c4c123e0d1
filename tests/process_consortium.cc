#include "tests/process_consortium.h"

#include <catch2/catch.hpp>

#include "base/atomic_file.h"
#include "tests/process_support.h"

namespace fedxray::testing {

Consortium::Consortium(const std::string& more, const std::string& name)
    : port(free_loopback_port()) {
  write_file_atomically(dir.path + "/consortium.yaml",
                        "consortium:\n  name: " + name + "\n  coordinator:\n    name: coordinator\n"
                        "    hosts: [127.0.0.1, localhost]\n    port: " + std::to_string(port) +
                        "\n  sites: [site-a, site-b]\n  admins: [alice]\n" + more);
  std::string out;
  REQUIRE(run_fedxray({"provision", "--consortium", dir.path + "/consortium.yaml", "--out",
                       kits()}, out) == 0);
}

std::vector<std::string> Consortium::coordinator_args(const std::string& job) const {
  std::vector<std::string> a{"coordinator", "--config", kits() + "/coordinator/coordinator.yaml",
                             "--listen", target(), "--finish-grace", "10"};
  if (!job.empty()) {
    a.push_back("--job");
    a.push_back(job);
  }
  return a;
}

std::vector<std::string> Consortium::site_args(const std::string& site, bool serve) const {
  std::vector<std::string> a{"site", "--config", kits() + "/" + site + "/site.yaml",
                             "--coordinator", target(), "--give-up-after", "120"};
  if (serve) a.push_back("--serve");
  return a;
}

std::vector<std::string> Consortium::admin(std::vector<std::string> args,
                                           const std::string& who) const {
  std::vector<std::string> a{"admin", "--kit", kits() + "/" + who, "--coordinator", target()};
  a.insert(a.end(), args.begin(), args.end());
  return a;
}

std::string Consortium::write_job(const std::string& name, int rounds) const {
  const std::string path = dir.path + "/" + name + ".yaml";
  write_file_atomically(path, "job:\n  name: " + name + "\n  model: cnn-small\n  classes: 3\n"
                              "  image_size: 32\n  rounds: " + std::to_string(rounds) +
                              "\n  sites_per_round: 2\n  min_sites: 2\n  round_deadline_s: 60\n"
                              "  local_epochs: 2\n  optimizer: adam\n  learning_rate: 0.003\n"
                              "  seed: 7\n");
  return path;
}

int completed(const std::vector<RoundRow>& rows) {
  int n = 0;
  for (const auto& r : rows) n += r.status == "completed";
  return n;
}

}  // namespace fedxray::testing

// A consortium for the process tests: `fedxray provision` run for real into a temporary folder
// (coordinator on a free loopback port, sites site-a and site-b, admin alice), with the command
// lines that start its coordinator, its site agents and its admin CLI.
#pragma once

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/store/state_database.h"
#include "tests/test_support.h"

namespace fedxray::testing {

struct Consortium {
  // `more` is appended to the consortium file's mapping, e.g. "  researchers: [rita]\n".
  // `name` is the consortium's (its CA is "<name> fedxray CA").
  explicit Consortium(const std::string& more = "", const std::string& name = "ops-test");
  std::string kits() const { return dir.path + "/kits"; }
  std::string target() const { return "127.0.0.1:" + std::to_string(port); }
  std::string state_dir() const { return kits() + "/coordinator/state"; }
  // `job` empty: the coordinator waits for jobs from the admin API.
  std::vector<std::string> coordinator_args(const std::string& job) const;
  std::vector<std::string> site_args(const std::string& site, bool serve = false) const;
  // `fedxray admin --kit <kits>/<who> --coordinator <target> args...`
  std::vector<std::string> admin(std::vector<std::string> args,
                                 const std::string& who = "alice") const;
  // A cnn-small job on the kits' synthetic data, both sites every round; returns its file.
  std::string write_job(const std::string& name, int rounds) const;

  TempDir dir;
  int port;
};

// Waits until `done(rounds)` holds for the job's rows in the state database.
template <typename Pred>
bool wait_for_rounds(const std::string& state_dir, const std::string& job, Pred done,
                     double seconds = 120) {
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(seconds * 1000));
  while (std::chrono::steady_clock::now() < until) {
    try {
      StateDatabase db(state_dir);
      if (done(db.rounds(job))) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int completed(const std::vector<RoundRow>& rows);

}  // namespace fedxray::testing

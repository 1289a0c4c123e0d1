// Real processes for the operations tests: the built `fedxray` executable, spawned with its output
// in a log file, killed with any signal, waited for with a time limit.
#pragma once

#include <string>
#include <vector>

#include "tests/test_support.h"  // free_loopback_port

namespace fedxray::testing {

class Process {
 public:
  // Runs build/fedxray with `args`; stdout and stderr go to `log_file`.
  Process(const std::vector<std::string>& args, const std::string& log_file);
  // Runs another program (a test's helper server such as tinyproxy) the same way.
  Process(const std::string& program, const std::vector<std::string>& args,
          const std::string& log_file);
  ~Process();  // SIGKILLs a process still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  void kill(int signal);
  // Exit status, or -1 if it has not exited within `seconds` (it is left running).
  int wait(double seconds);
  bool running();

 private:
  int pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
};

// Runs build/fedxray with `args` to completion; returns its exit status and fills `output`.
int run_fedxray(const std::vector<std::string>& args, std::string& output, double seconds = 120);

}  // namespace fedxray::testing

#include "tests/process_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

#include "base/atomic_file.h"
#include "tests/test_support.h"

namespace fedxray::testing {

Process::Process(const std::vector<std::string>& args, const std::string& log_file)
    : Process(FEDXRAY_BINARY, args, log_file) {}

Process::Process(const std::string& program, const std::vector<std::string>& args,
                 const std::string& log_file) {
  std::vector<std::string> argv_strings{program};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& s : argv_strings) argv.push_back(s.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
}

Process::~Process() {
  if (!reaped_) {
    kill(SIGKILL);
    wait(10);
  }
}

void Process::kill(int signal) {
  if (!reaped_) ::kill(pid_, signal);
}

bool Process::running() { return wait(0) == -1; }

int Process::wait(double seconds) {
  const auto until = std::chrono::steady_clock::now() +
                     std::chrono::milliseconds(int64_t(seconds * 1000));
  while (!reaped_) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      reaped_ = true;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return status_;
}

int run_fedxray(const std::vector<std::string>& args, std::string& output, double seconds) {
  TempDir dir;
  const std::string log = dir.path + "/out.log";
  Process p(args, log);
  const int rc = p.wait(seconds);
  output = read_file(log);
  return rc;
}

}  // namespace fedxray::testing

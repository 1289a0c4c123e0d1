#include "cli/signal_stop.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

namespace fedxray {

void stop_on_signal(std::function<void()> on_signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, on_signal] {
    int sig = 0;
    if (sigwait(&set, &sig) == 0) on_signal();
  }).detach();
}

}  // namespace fedxray

// Calls `on_signal` (once) on SIGINT or SIGTERM, from a helper thread, so long-running commands
// can stop cleanly. Call before starting other threads: it blocks those signals process-wide.
#pragma once

#include <functional>

namespace fedxray {

void stop_on_signal(std::function<void()> on_signal);

}  // namespace fedxray

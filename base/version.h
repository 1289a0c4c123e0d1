// The software version every component reports (Join, logs, --version).
#pragma once

namespace fedxray {
inline constexpr const char* kVersion = "0.1.0";
}  // namespace fedxray

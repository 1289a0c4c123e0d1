// Commands report failure by throwing CommandFailed with the process exit code to use.
#pragma once

#include "base/error.h"

namespace fedxray {

class CommandFailed : public Error {
 public:
  CommandFailed(int code, const std::string& message) : Error(message), code_(code) {}
  int code() const { return code_; }

 private:
  int code_;
};

}  // namespace fedxray

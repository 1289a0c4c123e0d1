// Refusal: the job runner's answer when a site asks for something it may not have. The gRPC
// service turns it into a status with the same code and message; the message names the site,
// the job and round, and what the site should do.
#pragma once

#include "base/error.h"

namespace fedxray {

enum class RefusalCode { kPermissionDenied, kFailedPrecondition, kInvalidArgument, kNotFound };

class Refusal : public Error {
 public:
  Refusal(RefusalCode code, const std::string& message) : Error(message), code_(code) {}
  RefusalCode code() const { return code_; }

 private:
  RefusalCode code_;
};

}  // namespace fedxray

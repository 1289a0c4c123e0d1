#include "common/log.h"

#include <grpc/support/log.h>

#include <string>

namespace fedxray {
namespace {

void route_grpc_log(gpr_log_func_args* args) {
  // gRPC reports failed TLS handshakes (no client certificate, unknown CA) here.
  const std::string message = args->message;
  if (message.find("Handshake failed") != std::string::npos) {
    spdlog::warn("refused a TLS connection: {} (a client without a certificate from the "
                 "consortium CA, or with an expired or foreign one)", message);
    return;
  }
  if (args->severity == GPR_LOG_SEVERITY_ERROR) {
    spdlog::warn("grpc: {}", args->message);
  } else {
    spdlog::debug("grpc: {}", args->message);
  }
}

}  // namespace

void init_logging(const std::string& level) {
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  gpr_set_log_function(route_grpc_log);
  gpr_set_log_verbosity(GPR_LOG_SEVERITY_ERROR);
}

}  // namespace fedxray

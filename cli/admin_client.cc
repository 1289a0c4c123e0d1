#include "cli/admin_client.h"

#include <iostream>

#include <google/protobuf/util/json_util.h>

#include "cli/exit_code.h"
#include "config/admin_config.h"
#include "config/http_proxy.h"
#include "pki/tls.h"

namespace fedxray {

std::string admin_target(const AdminFlags& flags) {
  return flags.coordinator.empty() ? load_admin_config(flags.kit).coordinator : flags.coordinator;
}

std::unique_ptr<admin::Admin::Stub> connect(const AdminFlags& flags) {
  const AdminConfig config = load_admin_config(flags.kit);
  const std::string target = admin_target(flags);
  // An admin's workstation behind a proxy: https_proxy / no_proxy from the environment.
  DialOptions options;
  options.http_proxy = choose_proxy_route(HttpProxyConfig{}, target).grpc_proxy;
  return admin::Admin::NewStub(dial(
      target, {config.certificate, config.private_key, config.ca_certificate}, std::move(options)));
}

void check(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return;
  const int code = s.error_code() == grpc::StatusCode::UNAVAILABLE ? 3 : 1;
  throw CommandFailed(code, what + ": " + s.error_message() +
                                (code == 3 ? " (is the coordinator running, and --coordinator or "
                                             "admin.coordinator right?)"
                                           : ""));
}

void deadline(grpc::ClientContext& context, int seconds) {
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

void print_json(const google::protobuf::Message& m) {
  std::string text;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.always_print_primitive_fields = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &text, options);
  std::cout << text;
}

}  // namespace fedxray

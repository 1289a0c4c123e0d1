// The admin CLI's connection to the coordinator's admin API (proto/admin.proto): the admin's
// kit and flags, one unary call with a deadline whose refusal ends the command with the
// coordinator's reason, and JSON output for scripts. Shared by the `fedxray admin` subcommands.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <google/protobuf/message.h>
#include <grpcpp/grpcpp.h>

#include "fedxray/proto/admin.grpc.pb.h"

namespace CLI {
class App;
}

namespace fedxray {

struct AdminFlags {
  std::string kit;
  std::string coordinator;
  bool json = false;
};

// The admin kit's coordinator target (or --coordinator).
std::string admin_target(const AdminFlags& flags);
std::unique_ptr<admin::Admin::Stub> connect(const AdminFlags& flags);
// Ends the command (exit 3 when the coordinator is unreachable, else 1) unless `s` is OK.
void check(const grpc::Status& s, const std::string& what);
void deadline(grpc::ClientContext& context, int seconds = 30);
void print_json(const google::protobuf::Message& m);

// One unary admin call with a 30 s deadline; a refusal ends the command with the coordinator's
// reason (see check()).
template <typename Request, typename Reply>
Reply ask(const AdminFlags& flags,
          grpc::Status (admin::Admin::Stub::*method)(grpc::ClientContext*, const Request&, Reply*),
          const Request& request, const std::string& what) {
  Reply reply;
  grpc::ClientContext context;
  deadline(context);
  check((connect(flags).get()->*method)(&context, request, &reply), what);
  return reply;
}

// `admin enrollment-token | enrollments | approve | reject` (cli/admin_enrollment_command.cc).
void add_enrollment_subcommands(CLI::App& cmd, const std::shared_ptr<AdminFlags>& flags);

}  // namespace fedxray

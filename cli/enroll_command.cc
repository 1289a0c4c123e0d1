// `fedxray enroll`: a new site makes its own key (it never leaves this machine) and a
// certificate signing request, sends the request to the coordinator's enrolment port with the
// admin's one-time token (or hands it over out of band), and collects its certificate once an
// admin approved it. The kit folder it fills is the same as a provisioned one.
#include <CLI/CLI.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/private_file.h"
#include "cli/commands.h"
#include "cli/exit_code.h"
#include "config/http_proxy.h"
#include "config/participant_name.h"
#include "fedxray/proto/enrollment.grpc.pb.h"
#include "pki/certificate_authority.h"
#include "pki/provisioning.h"
#include "pki/signing_request.h"

namespace fedxray {
namespace {

namespace fs = std::filesystem;

struct EnrollFlags {
  std::string name;
  std::string out;
  std::string coordinator;  // host:port the site dials (written into site.yaml)
  std::string enrollment;   // host:port of the enrolment port; empty: out of band
  std::string ca;           // the consortium CA certificate
  std::string token;
  std::string token_file;
  double wait_s = 0;
};

// The site's key: made once (0600) and reused when the command runs again.
std::string site_key(const std::string& path) {
  if (fs::exists(path)) return read_private_credential(path, "site private key", "--out");
  const std::string pem = generate_private_key_pem();
  write_file_atomically(path, pem, 0600);
  return pem;
}

// The request for that key: kept, so that running again names the same request.
std::string signing_request(const std::string& path, const std::string& key_pem,
                            const std::string& name) {
  if (fs::exists(path)) {
    const std::string pem = read_file(path);
    const SigningRequest kept = read_signing_request(pem);
    const SigningRequest fresh = read_signing_request(make_signing_request(key_pem, name));
    if (kept.public_key_pem == fresh.public_key_pem && kept.common_name == name) return pem;
  }
  const std::string pem = make_signing_request(key_pem, name);
  write_file_atomically(path, pem, 0644);
  return pem;
}

std::unique_ptr<enrollment::Enrollment::Stub> connect(const std::string& target,
                                                      const std::string& ca_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;  // the coordinator must prove it belongs to the consortium
  grpc::ChannelArguments args;
  const ProxyRoute route = choose_proxy_route(HttpProxyConfig{}, target);
  if (route.grpc_proxy.empty()) {
    args.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  } else {
    args.SetString(GRPC_ARG_HTTP_PROXY, route.grpc_proxy);
  }
  return enrollment::Enrollment::NewStub(
      grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args));
}

void fail_on(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return;
  const bool unreachable = s.error_code() == grpc::StatusCode::UNAVAILABLE ||
                           s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  throw CommandFailed(unreachable ? 3 : 1,
                      what + ": " + s.error_message() +
                          (unreachable ? " (is --enrollment the coordinator's enrolment port, "
                                         "and does --ca hold the consortium CA?)"
                                       : ""));
}

void run_enroll(const EnrollFlags& f) {
  if (!is_valid_participant_name(f.name)) {
    throw CommandFailed(
        2, "--name must be 1-63 lower-case letters, digits or '-' (got \"" + f.name + "\")");
  }
  fs::create_directories(f.out);
  ::chmod(f.out.c_str(), 0700);
  const std::string base = f.out + "/" + f.name;
  const std::string key = site_key(base + ".key");
  const std::string csr_pem = signing_request(base + ".csr", key, f.name);
  const SigningRequest csr = read_signing_request(csr_pem);
  if (!f.ca.empty() && fs::absolute(f.ca) != fs::absolute(f.out + "/ca.crt")) {
    write_file_atomically(f.out + "/ca.crt", read_file(f.ca), 0644);
  }
  if (!f.coordinator.empty() && !fs::exists(f.out + "/site.yaml")) {
    write_file_atomically(f.out + "/site.yaml", site_kit_yaml(f.name, f.coordinator), 0644);
  }
  std::cout << "key " << base << ".key (mode 0600; it never leaves this machine)\n"
            << "signing request " << base << ".csr, SHA-256 " << csr.sha256 << "\n";
  if (f.enrollment.empty()) {
    std::cout << "No --enrollment: hand " << base
              << ".csr to the consortium admin over a channel you trust; they run `fedxray "
                 "provision sign` and send back "
              << f.name << ".crt (and ca.crt), which go into " << f.out << "/\n";
    return;
  }
  if (!fs::exists(f.out + "/ca.crt")) {
    throw CommandFailed(2,
                        "--ca: the consortium CA certificate is needed to check the "
                        "coordinator (the admin sends it with the token)");
  }
  const std::string ca_pem = read_file(f.out + "/ca.crt");
  auto stub = connect(f.enrollment, ca_pem);
  const auto collect = [&](enrollment::EnrollmentState& state) {
    enrollment::CollectRequest request;
    request.set_name(f.name);
    request.set_csr_sha256(csr.sha256);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    return stub->Collect(&context, request, &state);
  };
  enrollment::EnrollmentState state;
  grpc::Status s = collect(state);
  const bool have_token = !f.token.empty() || !f.token_file.empty();
  const bool refused_before =
      s.ok() && (state.status() == "rejected" || state.status() == "removed");
  if (s.error_code() == grpc::StatusCode::NOT_FOUND || (refused_before && have_token)) {
    // No request yet, or a new token after a rejection: send the request (again).
    std::string token = f.token;
    if (token.empty() && !f.token_file.empty()) {
      token = read_private_credential(f.token_file, "enrolment token", "--token-file");
    }
    if (token.empty()) {
      throw CommandFailed(2, "the coordinator has no request from " + f.name +
                                 " yet: give the admin's token with --token-file (or --token)");
    }
    enrollment::CertificateRequest request;
    request.set_name(f.name);
    request.set_csr_pem(csr_pem);
    request.set_token(token);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    s = stub->Request(&context, request, &state);
    fail_on(s, "the coordinator refused the enrolment request");
    std::cout << "request sent: " << state.message() << "\n";
  } else {
    fail_on(s, "cannot ask the coordinator about the request");
  }
  const auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(f.wait_s * 1000));
  while (state.status() == "pending" && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    fail_on(collect(state), "cannot ask the coordinator about the request");
  }
  if (state.status() == "rejected" || state.status() == "removed") {
    throw CommandFailed(
        1, "enrolment " + state.message() + " (a new token from the admin lets it enrol again)");
  }
  if (state.status() != "approved") {
    throw CommandFailed(4, "enrolment pending: " + state.message() +
                               "; run the same command again to collect the certificate");
  }
  try {
    check_issued_for(state.certificate_pem(), csr, "site", ca_pem);
  } catch (const Error& e) {
    throw CommandFailed(1, std::string("the coordinator sent a certificate that does not fit "
                                       "this site's request: ") +
                               e.what());
  }
  write_file_atomically(base + ".crt", state.certificate_pem(), 0644);
  std::cout << "enrolled: " << base << ".crt (" << state.message() << ")\n";
  if (fs::exists(f.out + "/site.yaml")) {
    std::cout << "start the site agent: fedxray site --config " << f.out << "/site.yaml\n";
  }
}

}  // namespace

void add_enroll_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "enroll",
      "Join a consortium: make this site's key here, send a signing request with the "
      "admin's token, and collect the certificate once approved");
  auto f = std::make_shared<EnrollFlags>();
  cmd->add_option("--name", f->name, "this site's name, as the admin issued the token for")
      ->required();
  cmd->add_option("--out", f->out, "the kit folder to fill (key, request, certificate, site.yaml)")
      ->required();
  cmd->add_option("--coordinator", f->coordinator,
                  "host:port the site agent dials (written into site.yaml)");
  cmd->add_option("--enrollment", f->enrollment,
                  "host:port of the coordinator's enrolment port; without it the request is only "
                  "written, to hand over out of band");
  cmd->add_option("--ca", f->ca, "the consortium CA certificate the admin sent")
      ->check(CLI::ExistingFile);
  cmd->add_option("--token", f->token, "the admin's one-time enrolment token");
  cmd->add_option("--token-file", f->token_file,
                  "a file (mode 0600) holding the token: kept out of the process list");
  cmd->add_option("--wait", f->wait_s, "seconds to wait for an admin's decision")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->callback([f] { run_enroll(*f); });
}

}  // namespace fedxray

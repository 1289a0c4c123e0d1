// A real coordinator (JobRunner + gRPC server with mutual TLS) on 127.0.0.1, and helpers to act
// as a site with raw stubs — for protocol and security tests that need no training.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include <grpcpp/grpcpp.h>

#include "config/job_config.h"
#include "coordinator/transport/coordinator_service.h"
#include "coordinator/round/job_runner.h"
#include "fedxray/proto/fedxray.grpc.pb.h"
#include "site-agent/transport/model_transfer.h"
#include "tests/test_support.h"

namespace fedxray::testing {

struct CoordinatorFixture {
  // job: rounds/sites as given; model = make_model(float_sizes, 1).
  explicit CoordinatorFixture(JobConfig job, std::vector<std::string> allowed = {},
                              std::vector<int64_t> float_sizes = {64, 1000},
                              double heartbeat_timeout_s = 20);
  ~CoordinatorFixture();

  void start_rounds();  // runs JobRunner::run on a background thread
  std::unique_ptr<wire::Coordinator::Stub> stub(const TlsFiles& files) const;
  std::string target() const { return "127.0.0.1:" + std::to_string(server->port()); }

  TempDir state;
  ModelBlob initial;
  std::unique_ptr<JobRunner> runner;
  std::unique_ptr<CoordinatorServer> server;
  std::thread rounds;
  bool succeeded = false;
};

JobConfig small_job(const std::string& name, int rounds, int sites_per_round, int min_sites);

// Join as `site` with the given certificate kit; returns the gRPC status.
grpc::Status join(wire::Coordinator::Stub& stub, const std::string& site_name,
                  const std::string& model = "test-model");

}  // namespace fedxray::testing

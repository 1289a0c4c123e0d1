#include "tests/coordinator_fixture.h"

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/version.h"
#include "coordinator/aggregation/fedavg_strategy.h"

namespace fedxray::testing {

JobConfig small_job(const std::string& name, int rounds, int sites_per_round, int min_sites) {
  JobConfig job;
  job.name = name;
  job.model = "test-model";
  job.rounds = rounds;
  job.sites_per_round = sites_per_round;
  job.min_sites = min_sites;
  job.round_deadline_s = 30;
  return job;
}

CoordinatorFixture::CoordinatorFixture(JobConfig job, std::vector<std::string> allowed,
                                       std::vector<int64_t> float_sizes,
                                       double heartbeat_timeout_s) {
  initial = make_model(float_sizes, 1);
  CoordinatorOptions options;
  options.state_dir = state.path;
  options.allowed_sites = std::move(allowed);
  options.heartbeat_timeout_s = heartbeat_timeout_s;
  CheckpointStore store(state.path, job.name);
  runner = std::make_unique<JobRunner>(
      job, options, initial,
      make_job_strategy(job, store.journal_dir(), read_file(kit("coordinator").ca_certificate)));
  server = std::make_unique<CoordinatorServer>(*runner, "127.0.0.1:0",
                                               make_server_credentials(kit("coordinator")));
}

CoordinatorFixture::~CoordinatorFixture() {
  if (rounds.joinable()) {
    runner->stop("test over");
    rounds.join();
  }
  server->shutdown();
}

void CoordinatorFixture::start_rounds() {
  rounds = std::thread([this] { succeeded = runner->run(); });
}

std::unique_ptr<wire::Coordinator::Stub> CoordinatorFixture::stub(const TlsFiles& files) const {
  return wire::Coordinator::NewStub(dial(target(), files));
}

grpc::Status join(wire::Coordinator::Stub& stub, const std::string& site_name,
                  const std::string& model) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  wire::JoinRequest request;
  request.set_site_name(site_name);
  request.set_software_version(kVersion);
  request.set_dataset_size(100);
  request.add_supported_models(model);
  wire::JoinReply reply;
  return stub.Join(&context, request, &reply);
}

}  // namespace fedxray::testing

#include "coordinator/transport/coordinator_service.h"

#include <thread>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "base/sha256.h"
#include "base/version.h"
#include "coordinator/aggregation/aggregator.h"
#include "coordinator/round/job_runner.h"
#include "coordinator/round/refusal.h"
#include "coordinator/store/audit_log.h"
#include "coordinator/store/state_database.h"
#include "pki/revocation_list.h"
#include "pki/tls.h"
#include "wire/model_file.h"
#include "wire/model_stream.h"

namespace fedxray {
namespace {

constexpr auto kLongPoll = std::chrono::milliseconds(5000);
constexpr std::size_t kMaxJoinText = 128;
constexpr int kMaxSupportedModels = 256;
constexpr const char* kInternalFailure =
    "the coordinator failed to handle this call; its log has the details";

grpc::Status to_status(const Refusal& r) {
  switch (r.code()) {
    case RefusalCode::kPermissionDenied: return {grpc::StatusCode::PERMISSION_DENIED, r.what()};
    case RefusalCode::kInvalidArgument: return {grpc::StatusCode::INVALID_ARGUMENT, r.what()};
    case RefusalCode::kNotFound: return {grpc::StatusCode::NOT_FOUND, r.what()};
    case RefusalCode::kFailedPrecondition:
    default: return {grpc::StatusCode::FAILED_PRECONDITION, r.what()};
  }
}

template <typename Fn>
grpc::Status guarded(const char* rpc, const std::string& site, Fn&& fn) {
  try {
    return fn();
  } catch (const Refusal& r) {
    spdlog::warn("refused {} from site={}: {}", rpc, site, r.what());
    return to_status(r);
  } catch (const ShareableError& e) {
    spdlog::warn("refused {} from site={}: {}", rpc, site, e.what());
    return {grpc::StatusCode::FAILED_PRECONDITION, e.what()};
  } catch (const std::exception& e) {
    // The detail may name the coordinator's files; the site only learns that it was not its fault.
    spdlog::error("{} from site={} failed: {}", rpc, site, e.what());
    return {grpc::StatusCode::INTERNAL, kInternalFailure};
  }
}

// What a site may declare when it joins: the coordinator keeps it for the job's lifetime and
// writes the version into its database, so each part is bounded.
std::string join_problem(const wire::JoinRequest& r) {
  if (r.dataset_size() == 0) return "dataset_size is 0: a site with no images cannot train";
  if (r.software_version().size() > kMaxJoinText) {
    return "software_version is longer than " + std::to_string(kMaxJoinText) + " characters";
  }
  if (r.supported_models_size() > kMaxSupportedModels) {
    return "it lists " + std::to_string(r.supported_models_size()) + " models, more than " +
           std::to_string(kMaxSupportedModels);
  }
  for (const auto& m : r.supported_models()) {
    if (m.size() > kMaxJoinText) {
      return "a model name is longer than " + std::to_string(kMaxJoinText) + " characters";
    }
  }
  return {};
}

}  // namespace

void CoordinatorService::use_revocation_list(std::shared_ptr<RevocationWatcher> watcher) {
  gate_.use_revocation_list(std::move(watcher));
}

void CoordinatorService::use_state(std::shared_ptr<StateDatabase> state,
                                   std::shared_ptr<AuditLog> audit) {
  std::lock_guard<std::mutex> lock(mu_);
  state_ = std::move(state);
  audit_ = std::move(audit);
}

void CoordinatorService::seen(const std::string& site) {
  std::shared_ptr<StateDatabase> state;
  {
    std::lock_guard<std::mutex> lock(mu_);
    state = state_;
    auto& last = last_recorded_[site];
    const auto now = std::chrono::steady_clock::now();
    if (!state || now - last < std::chrono::seconds(2)) return;  // at most one write per 2 s
    last = now;
  }
  state->site_seen(site);
}

CoordinatorService::Counters CoordinatorService::counters() const {
  return {bytes_received_.load(), bytes_sent_.load(), refused_.load()};
}

std::shared_ptr<JobRunner> CoordinatorService::runner_for(const std::string& site) {
  std::shared_ptr<JobRunner> runner = source_();
  if (!runner) {
    throw Refusal(RefusalCode::kFailedPrecondition, "no job is running on this coordinator");
  }
  return with_site_joined(std::move(runner), site);
}

std::shared_ptr<JobRunner> CoordinatorService::with_site_joined(std::shared_ptr<JobRunner> runner,
                                                      const std::string& site) {
  if (!runner->has_joined(site)) {
    wire::JoinRequest join;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = joins_.find(site);
      if (it == joins_.end()) {
        throw Refusal(RefusalCode::kFailedPrecondition,
                      "site " + site + " has not joined; call Join first");
      }
      join = it->second;
    }
    runner->join(site, join);
  }
  return runner;
}

void CoordinatorService::audit(const std::string& site, const std::string& action,
                               const std::string& target, const grpc::Status& outcome) {
  if (!outcome.ok()) ++refused_;
  std::shared_ptr<AuditLog> audit;
  {
    std::lock_guard<std::mutex> lock(mu_);
    audit = audit_;
  }
  if (audit) {
    audit->record("CN=" + site + ",OU=site", action, target, outcome.ok() ? "ok" : "refused",
                  outcome.error_message());
  }
}

grpc::Status CoordinatorService::site_of(grpc::ServerContext* context, const char* rpc,
                                         std::string& site, SiteCallLimit::Slot& slot,
                                         PeerIdentity* identity) {
  PeerIdentity id;
  grpc::Status status = gate_.admit(*context, rpc, id);
  if (!status.ok()) {
    ++refused_;
    return status;
  }
  slot = calls_.enter(id.common_name);
  if (!slot) {
    ++refused_;
    spdlog::warn("refused {} from site={}: it already has {} calls in flight", rpc,
                 id.common_name, calls_.per_site());
    return {grpc::StatusCode::RESOURCE_EXHAUSTED,
            "site " + id.common_name + " already has " + std::to_string(calls_.per_site()) +
                " calls in flight at the coordinator; a site agent needs a handful, so wait for "
                "them to finish"};
  }
  site = id.common_name;
  if (identity) *identity = std::move(id);
  return grpc::Status::OK;
}

CoordinatorService::CoordinatorService(JobRunner& runner)
    : source_([p = std::shared_ptr<JobRunner>(&runner, [](JobRunner*) {})] { return p; }) {}

CoordinatorService::CoordinatorService(RunnerSource source) : source_(std::move(source)) {}

grpc::Status CoordinatorService::Join(grpc::ServerContext* context,
                                      const wire::JoinRequest* request, wire::JoinReply* reply) {
  std::string site;
  PeerIdentity caller;
  SiteCallLimit::Slot slot;
  if (auto s = site_of(context, "Join", site, slot, &caller); !s.ok()) return s;
  if (request->site_name() != site) {
    spdlog::warn("refused Join: certificate belongs to site={} but the request claims to be '{}' "
                 "(impersonation attempt or a wrong site.name in its config)",
                 site, request->site_name());
    return {grpc::StatusCode::PERMISSION_DENIED,
            "this certificate belongs to site '" + site + "', not '" + request->site_name() +
                "'; set site.name to the name in your startup kit"};
  }
  grpc::Status status = guarded("Join", site, [&] {
    if (std::string problem = join_problem(*request); !problem.empty()) {
      throw Refusal(RefusalCode::kInvalidArgument, "join refused: " + problem);
    }
    std::shared_ptr<JobRunner> runner = source_();
    if (runner) {
      *reply = runner->join(site, *request);
    } else {  // between jobs: remember the site; it is joined to the next job
      reply->set_site(site);
      reply->set_coordinator_version(kVersion);
      reply->set_heartbeat_interval_ms(5000);
    }
    std::shared_ptr<StateDatabase> state;
    {
      std::lock_guard<std::mutex> lock(mu_);
      joins_[site] = *request;
      state = state_;
    }
    if (state) {
      const std::string& pem = caller.certificate_pem;
      int64_t not_after = 0;
      try {
        not_after = certificate_not_after(pem);
      } catch (const Error&) {
        // a verified peer always has one; 0 reads as "not known"
      }
      state->site_joined(site, certificate_fingerprint(pem), request->software_version(),
                         not_after);
      if (not_after && days_until(not_after) < kCertificateRenewalDays) {
        spdlog::warn("site {}: its certificate expires in {} days; renew it (a new CSR, or "
                     "fedxray provision)", site, days_until(not_after));
      }
    }
    return grpc::Status::OK;
  });
  audit(site, "join", "coordinator", status);
  return status;
}

grpc::Status CoordinatorService::GetWork(grpc::ServerContext* context, const wire::WorkRequest*,
                                         wire::WorkReply* reply) {
  std::string site;
  SiteCallLimit::Slot slot;
  if (auto s = site_of(context, "GetWork", site, slot); !s.ok()) return s;
  return guarded("GetWork", site, [&] {
    std::shared_ptr<JobRunner> runner = source_();
    if (!runner) {  // between jobs
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
      reply->set_kind(wire::WorkReply::WAIT);
      return grpc::Status::OK;
    }
    *reply = with_site_joined(std::move(runner), site)->get_work(site, kLongPoll);
    seen(site);
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::DownloadModel(grpc::ServerContext* context,
                                               const wire::ModelRequest* request,
                                               grpc::ServerWriter<wire::ModelChunk>* writer) {
  std::string site;
  SiteCallLimit::Slot slot;
  if (auto s = site_of(context, "DownloadModel", site, slot); !s.ok()) return s;
  return guarded("DownloadModel", site, [&] {
    std::shared_ptr<const ModelFileReader> model = runner_for(site)->begin_download(site, *request);
    const wire::ModelManifest& manifest = model->manifest();
    wire::ModelChunk chunk;
    *chunk.mutable_manifest() = manifest;
    bool ok = true;
    if (manifest.total_bytes() == 0) ok = writer->Write(chunk);
    for_each_chunk(manifest.total_bytes(), [&](uint64_t offset, std::size_t size) {
      if (!ok) return;
      chunk.set_offset(offset);
      model->read(offset, size, *chunk.mutable_data());
      ok = writer->Write(chunk);
      bytes_sent_ += size;
      chunk.clear_manifest();
    });
    if (!ok) return grpc::Status(grpc::StatusCode::CANCELLED, "site went away during download");
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::UploadUpdate(grpc::ServerContext* context,
                                              grpc::ServerReader<wire::UpdateChunk>* reader,
                                              wire::UploadReply* reply) {
  std::string site;
  SiteCallLimit::Slot slot;
  if (auto s = site_of(context, "UploadUpdate", site, slot); !s.ok()) return s;
  std::string target = "upload";
  grpc::Status status = guarded("UploadUpdate", site, [&]() -> grpc::Status {
    wire::UpdateChunk chunk;
    if (!reader->Read(&chunk) || !chunk.has_header()) {
      return {grpc::StatusCode::INVALID_ARGUMENT, "an upload must start with its header"};
    }
    target = "job " + chunk.header().job_id() + " round " + std::to_string(chunk.header().round());
    std::shared_ptr<JobRunner> runner = runner_for(site);
    std::unique_ptr<UploadSession> session = runner->begin_upload(site, chunk.header());
    const uint64_t total = session->header.manifest().total_bytes();
    Sha256 hash;
    uint64_t received = 0;
    std::string problem;
    try {
      do {
        if (chunk.data().size() > kMaxChunkBytes) {
          problem = "a chunk is larger than 1 MiB";
          break;
        }
        hash.update(chunk.data().data(), chunk.data().size());
        session->sink->fold(chunk.offset(), chunk.data().data(), chunk.data().size());
        received += chunk.data().size();
        bytes_received_ += chunk.data().size();
      } while (reader->Read(&chunk));
    } catch (const ShareableError& e) {
      problem = e.what();
    } catch (const std::exception& e) {
      spdlog::error("upload from site={} failed at the coordinator: {}", site, e.what());
      runner->fail_upload(*session, "the coordinator failed to take the update; its log has the "
                                    "details");
      return {grpc::StatusCode::INTERNAL, kInternalFailure};
    }
    if (problem.empty() && received != total) {
      problem = "the stream ended after " + std::to_string(received) + " of " +
                std::to_string(total) + " bytes";
    }
    std::string digest = hash.hex_digest();
    if (problem.empty() && digest != session->header.manifest().sha256()) {
      problem = "checksum mismatch: received bytes hash to " + digest + ", the site announced " +
                session->header.manifest().sha256();
    }
    if (!problem.empty()) {
      runner->fail_upload(*session, "bad update: " + problem);
      return {grpc::StatusCode::INVALID_ARGUMENT,
              "update for round " + std::to_string(session->round) + " rejected: " + problem};
    }
    runner->finish_upload(*session);
    reply->set_received_sha256(digest);
    return grpc::Status::OK;
  });
  audit(site, "upload", target, status);
  return status;
}

grpc::Status CoordinatorService::Heartbeat(grpc::ServerContext* context,
                                           const wire::HeartbeatRequest* request,
                                           wire::HeartbeatReply* reply) {
  std::string site;
  SiteCallLimit::Slot slot;
  if (auto s = site_of(context, "Heartbeat", site, slot); !s.ok()) return s;
  return guarded("Heartbeat", site, [&] {
    *reply = runner_for(site)->heartbeat(site, *request);
    seen(site);  // a site busy training only sends heartbeats
    return grpc::Status::OK;
  });
}

grpc::Status CoordinatorService::SecureAggregation(grpc::ServerContext* context,
                                                   const wire::SecAggRequest* request,
                                                   wire::SecAggReply* reply) {
  std::string site;
  SiteCallLimit::Slot slot;
  if (auto s = site_of(context, "SecureAggregation", site, slot); !s.ok()) return s;
  return guarded("SecureAggregation", site, [&] {
    *reply = runner_for(site)->secure_step(site, *request);
    return grpc::Status::OK;
  });
}

void CoordinatorServer::use_revocation_list(const std::string& crl_path,
                                            const std::string& ca_cert_pem) {
  service_.use_revocation_list(std::make_shared<RevocationWatcher>(crl_path, ca_cert_pem));
}

CoordinatorServer::CoordinatorServer(JobRunner& runner, const std::string& listen,
                                     std::shared_ptr<grpc::ServerCredentials> credentials)
    : service_(runner) {
  start(listen, std::move(credentials), {});
}

CoordinatorServer::CoordinatorServer(RunnerSource source, const std::string& listen,
                                     std::shared_ptr<grpc::ServerCredentials> credentials,
                                     std::vector<grpc::Service*> extra, CoordinatorGates gates)
    : service_(std::move(source)) {
  if (gates.revocation) service_.use_revocation_list(gates.revocation);
  if (gates.state || gates.audit) service_.use_state(gates.state, gates.audit);
  start(listen, std::move(credentials), extra);
}

void CoordinatorServer::start(const std::string& listen,
                              std::shared_ptr<grpc::ServerCredentials> credentials,
                              const std::vector<grpc::Service*>& extra) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort(listen, credentials, &port_);
  builder.RegisterService(&service_);
  for (grpc::Service* s : extra) builder.RegisterService(s);
  builder.SetMaxReceiveMessageSize(4 << 20);
  // A fixed per-stream window instead of BDP-grown ones (up to 16 MiB each): with many sites
  // uploading at once the coordinator's buffers stay O(sites x 2 MiB), and loopback or LAN
  // links still run at full speed.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, 1 << 20);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 2 << 20);
  server_ = builder.BuildAndStart();
  if (!server_ || port_ == 0) {
    throw Error("cannot listen on " + listen + "; is the port in use or the address wrong? "
                "(coordinator.listen)");
  }
  spdlog::info("coordinator listening on {} (port {}), mutual TLS required", listen, port_);
}

CoordinatorServer::~CoordinatorServer() { shutdown(); }

void CoordinatorServer::shutdown() {
  if (server_) {
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
  }
}

}  // namespace fedxray

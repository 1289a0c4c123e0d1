#include "site-agent/transport/secure_upload.h"

#include <cmath>
#include <cstring>

#include <spdlog/spdlog.h>

#include "base/atomic_file.h"
#include "base/error.h"
#include "privacy/secagg/fixed_point.h"
#include "privacy/secagg/secure_aggregation_wire.h"
#include "site-agent/transport/model_transfer.h"

namespace fedxray {
namespace {

// One protocol step; the coordinator blocks until the step's stage closes.
wire::SecAggReply call(wire::Coordinator::Stub& stub, wire::SecAggRequest request,
                       const wire::WorkReply& work, std::chrono::seconds wait) {
  request.set_job_id(work.job().job_id());
  request.set_round(work.round());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + wait);
  wire::SecAggReply reply;
  grpc::Status s = stub.SecureAggregation(&context, request, &reply);
  if (!s.ok()) throw ShareableError("secure aggregation step refused: " + s.error_message());
  if (!reply.excluded().empty()) {
    throw ShareableError("excluded from the secure round: " + reply.excluded());
  }
  return reply;
}

}  // namespace

SiteCredentials read_site_credentials(const std::string& site_name, const TlsFiles& kit) {
  return SiteCredentials{site_name, read_file(kit.private_key), read_file(kit.certificate),
                         read_file(kit.ca_certificate)};
}

std::vector<uint32_t> encode_weighted_delta(const ModelBlob& global, const ModelBlob& trained,
                                            double weight, double clip, double scale,
                                            std::size_t& clipped) {
  const std::string problem = layout_difference(global.manifest, trained.manifest);
  if (!problem.empty()) throw Error("the trained model does not match the global one: " + problem);
  const FixedPointCode code{clip, scale};
  std::vector<uint32_t> words(element_count(global.manifest) + 1);
  std::vector<float> delta;
  clipped = 0;
  std::size_t at = 0;
  for (const auto& t : global.manifest.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    const std::size_t n = std::size_t(t.nbytes() / esize);
    delta.resize(n);
    const char* g = global.bytes.data() + t.offset();
    const char* m = trained.bytes.data() + t.offset();
    if (t.dtype() == wire::FLOAT32) {  // the common case, without a per-element switch
      for (std::size_t i = 0; i < n; ++i) {
        float a, b;
        std::memcpy(&a, m + 4 * i, 4);
        std::memcpy(&b, g + 4 * i, 4);
        delta[i] = a - b;
      }
    } else {
      for (std::size_t i = 0; i < n; ++i) {
        delta[i] = float(load_element(t.dtype(), m + i * esize) - load_element(t.dtype(), g + i * esize));
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!std::isfinite(delta[i])) {
        throw ShareableError("local training diverged: tensor '" + t.name() +
                             "' has non-finite weights, so nothing is uploaded this round");
      }
    }
    clipped += encode_fixed_point(code, delta.data(), n, weight, words.data() + at);
    at += n;
  }
  words.back() = uint32_t(weight);
  return words;
}

void run_secure_round(wire::Coordinator::Stub& stub, const SiteCredentials& credentials,
                      const wire::WorkReply& work, const ModelBlob& global,
                      const TrainingResult& result, uint64_t declared_dataset_size,
                      const SecureStepObserver& observer) {
  const auto& job = work.job();
  const auto& p = work.secure_aggregation();
  const SecAggRound params = from_wire(job.job_id(), int(work.round()), p);
  if (params.vector_words != element_count(global.manifest) + 1) {
    throw Error("the secure round expects " + std::to_string(params.vector_words) +
                " words; this model has " + std::to_string(element_count(global.manifest)) +
                " elements + 1");
  }
  if (!(p.scale() > 0) || !(p.clip() > 0)) throw Error("the secure round has no fixed-point scale");
  // Stages wait for the slowest site's training (up to the round deadline), then stage timeouts.
  const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  const auto wait = std::chrono::seconds(
      std::max<int64_t>(0, (work.deadline_unix_ms() - now_ms) / 1000) +
      int64_t(4 * std::max(1.0, job.secure_aggregation().stage_timeout_s())) + 30);
  auto step = [&](const char* name) {
    if (observer) observer(name);
  };
  SecAggSite site(credentials, params);
  using Clock = std::chrono::steady_clock;
  auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  const auto t0 = Clock::now();

  step("advert");
  wire::SecAggRequest request;
  *request.mutable_advert() = to_wire(site.advertise());
  wire::SecAggReply reply = call(stub, request, work, wait);
  std::vector<KeyAdvert> directory;
  for (const auto& a : reply.directory()) directory.push_back(from_wire(a));

  step("shares");
  request.Clear();
  for (const auto& s : site.share_secrets(directory)) *request.mutable_shares()->add_shares() = to_wire(s);
  reply = call(stub, request, work, wait);
  std::vector<SealedShare> inbox;
  for (const auto& s : reply.inbox()) inbox.push_back(from_wire(s));

  step("receipt");
  const ShareReceipt receipt = site.receive_shares(inbox);
  for (const auto& [from, why] : receipt.rejected) {
    spdlog::warn("site={} round={}: the shares from {} do not open: {}", credentials.name,
                 work.round(), from, why);
  }
  request.Clear();
  *request.mutable_receipt() = to_wire(receipt);
  reply = call(stub, request, work, wait);
  site.accept_plan(MaskingPlan{{reply.mask_with().begin(), reply.mask_with().end()}});

  step("upload");
  const double keys_s = since(t0);
  const auto t1 = Clock::now();
  const double weight = double(std::min<uint64_t>(result.samples, declared_dataset_size));
  std::size_t clipped = 0;
  std::vector<uint32_t> words =
      encode_weighted_delta(global, result.model, weight, p.clip(), p.scale(), clipped);
  if (clipped > 0) {
    spdlog::info("site={} round={}: {} of {} coordinates of the update clipped to +-{}",
                 credentials.name, work.round(), clipped, words.size() - 1, p.clip());
  }
  site.mask(words.data(), words.size(), 0);
  const double mask_s = since(t1);
  const auto t2 = Clock::now();
  ModelBlob masked;
  masked.manifest.set_model("secagg-masked");
  append_tensor(masked.manifest, "secagg.masked", wire::INT32, {int64_t(words.size())});
  masked.bytes.assign(reinterpret_cast<const char*>(words.data()), words.size() * 4);
  masked.seal();
  grpc::Status s = upload_update(stub, job.job_id(), int(work.round()), masked, uint64_t(weight),
                                 result.metrics);
  if (!s.ok()) throw Error("the coordinator rejected the masked update: " + s.error_message());

  const double upload_s = since(t2);
  const auto t3 = Clock::now();
  step("await_unmask");
  request.Clear();
  request.set_await_unmask(true);
  reply = call(stub, request, work, wait);
  const UnmaskRequest unmask{{reply.survivors().begin(), reply.survivors().end()},
                             {reply.dropped().begin(), reply.dropped().end()}};

  step("reveal");
  request.Clear();
  *request.mutable_reveal() = to_wire(site.unmask(unmask));
  call(stub, request, work, wait);
  spdlog::info("site={} round={}: masked update in the sum with {} other sites ({} dropped); "
               "keys and shares {:.2f} s, encode and mask {:.2f} s, upload {:.2f} s, unmask {:.2f} s",
               credentials.name, work.round(), unmask.survivors.size() - 1, unmask.dropped.size(),
               keys_s, mask_s, upload_s, since(t3));
}

}  // namespace fedxray

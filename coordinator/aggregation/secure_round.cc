#include "coordinator/aggregation/secure_round.h"

#include "coordinator/aggregation/journaled_sink.h"

#include <algorithm>
#include <cstring>
#include <map>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "coordinator/aggregation/undo_journal.h"
#include "privacy/secagg/secure_aggregation_wire.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(int64_t(seconds * 1000));
}

}  // namespace

// One site's masked upload: little-endian 32-bit words added into the ring sum as they arrive,
// journaled so that an upload that breaks off can be subtracted again.
class SecureRound::MaskedSink : public JournaledSink {
 public:
  MaskedSink(SecureRound& round, std::string site, std::unique_ptr<UndoJournal> journal)
      : JournaledSink(std::move(site), "masked input", "round's vector",
                      round.masked_layout_.total_bytes(), std::move(journal)),
        round_(round) {}

  ~MaskedSink() override {
    std::lock_guard<std::mutex> registry(round_.mu_);
    round_.sinks_.erase(this);
    abandon();
  }

 private:
  void add(uint64_t first_byte, const char* data, std::size_t size) override {
    const uint64_t first = (first_byte - pending_.size()) / 4;
    if (pending_.empty() && size % 4 == 0) {  // every chunk but a rare split word
      journal().append(data, size);
      round_.fold_words(first, data, size / 4, false);
      return;
    }
    // Whole words only; up to 3 bytes wait in `pending_` for the next chunk.
    std::string joined = pending_ + std::string(data, size);
    const std::size_t whole = joined.size() / 4 * 4;
    pending_ = joined.substr(whole);
    if (whole == 0) return;
    journal().append(joined.data(), whole);
    round_.fold_words(first, joined.data(), whole / 4, false);
  }

  std::unique_lock<std::mutex> lock_owner() override {
    return std::unique_lock<std::mutex>(round_.mu_);
  }
  void check_commit() override {
    if (round_.input_closed_) {
      throw ShareableError("the round closed before the masked input from " + site() +
                           " was complete");
    }
  }
  void on_commit() override {
    round_.server_.mark_delivered(site());
    ++round_.committed_;
    round_.changed_.notify_all();
  }

  void undo() override {
    std::string bytes(1 << 20, '\0');
    for (uint64_t offset = 0; offset < journal().size();) {
      const std::size_t n = journal().read(offset, bytes.data(), bytes.size());
      if (n == 0) break;
      round_.fold_words(offset / 4, bytes.data(), n / 4, true);
      offset += n;
    }
  }

  SecureRound& round_;
  std::string pending_;
};

SecureRound::SecureRound(SecureRoundSettings settings, std::shared_ptr<const ModelFileReader> global,
                         std::shared_ptr<UndoJournalPool> journals)
    : settings_(std::move(settings)),
      global_(std::move(global)),
      journals_(std::move(journals)),
      server_(settings_.params, settings_.ca_pem) {
  masked_layout_.set_model("secagg-masked");
  append_tensor(masked_layout_, "secagg.masked", wire::INT32,
                {int64_t(settings_.params.vector_words)});
  ring_sum_.assign(settings_.params.vector_words, 0u);
}

SecureRound::~SecureRound() = default;

wire::SecAggRoundParams SecureRound::wire_params() const {
  return to_wire(settings_.params, settings_.code.scale, settings_.code.clip);
}

void SecureRound::fold_words(uint64_t first_word, const char* bytes, std::size_t count,
                             bool subtract) {
  std::lock_guard<std::mutex> lock(sum_mu_);
  uint32_t* dst = ring_sum_.data() + first_word;
  for (std::size_t k = 0; k < count; ++k) {
    uint32_t w;  // the wire bytes need not be aligned; this compiles to plain loads
    std::memcpy(&w, bytes + 4 * k, 4);
    dst[k] = subtract ? dst[k] - w : dst[k] + w;
  }
}

bool SecureRound::stage_complete(Stage stage) const {
  for (const auto& site : settings_.params.sites) {
    if (failed_.count(site) || !server_.takes_part(site)) continue;
    if (stage > kAdverts && !posted_[stage - 1].count(site)) continue;  // never got this far
    if (!posted_[stage].count(site)) return false;
  }
  return true;
}

void SecureRound::wait_for_stage(Stage stage, std::unique_lock<std::mutex>& lock) {
  for (;;) {
    if (!aborted_.empty()) throw Error("secure round aborted: " + aborted_);
    if (closed_[stage]) return;
    const auto deadline = stage == kAdverts
                              ? settings_.advert_deadline
                              : closed_at_[stage - 1] + millis(settings_.stage_timeout_s);
    if (stage_complete(stage) || Clock::now() >= deadline) {
      closed_[stage] = true;
      closed_at_[stage] = Clock::now();
      if (stage == kReceipts) server_.close_receipts();
      changed_.notify_all();
      return;
    }
    changed_.wait_for(lock, std::chrono::milliseconds(100));
  }
}

wire::SecAggReply SecureRound::step(const std::string& site, const wire::SecAggRequest& request) {
  std::unique_lock<std::mutex> lock(mu_);
  wire::SecAggReply reply;
  auto out = [&](const std::string& why) {
    reply.set_excluded(why);
    spdlog::warn("job={} round={} site={} out of the secure round: {}", settings_.params.job,
                 settings_.params.round, site, why);
    return reply;
  };
  const auto& sites = settings_.params.sites;
  if (std::find(sites.begin(), sites.end(), site) == sites.end()) return out("not selected for this round");
  if (failed_.count(site)) return out("already dropped from this round");
  auto in_order = [&](Stage stage) {
    return !posted_[stage].count(site) && (stage == kAdverts || (closed_[stage - 1] && posted_[stage - 1].count(site)));
  };
  switch (request.step_case()) {
    case wire::SecAggRequest::kAdvert: {
      if (!in_order(kAdverts)) return out("sent its keys twice");
      KeyAdvert advert = from_wire(request.advert());
      posted_[kAdverts].insert(site);
      if (advert.site != site) return out("advertised keys for '" + advert.site + "'");
      const std::string refused = server_.add_advert(advert);
      changed_.notify_all();
      if (!refused.empty()) return out(refused);
      wait_for_stage(kAdverts, lock);
      if (!server_.takes_part(site)) return out(server_.exclusion_reason(site));
      for (const auto& a : server_.directory()) *reply.add_directory() = to_wire(a);
      return reply;
    }
    case wire::SecAggRequest::kShares: {
      if (!in_order(kShares)) return out("sent shares out of order");
      std::vector<SealedShare> shares;
      for (const auto& s : request.shares().shares()) shares.push_back(from_wire(s));
      posted_[kShares].insert(site);
      const std::string refused = server_.add_shares(site, shares);
      changed_.notify_all();
      if (!refused.empty()) return out(refused);
      wait_for_stage(kShares, lock);
      for (const auto& s : server_.shares_for(site)) *reply.add_inbox() = to_wire(s);
      return reply;
    }
    case wire::SecAggRequest::kReceipt: {
      if (!in_order(kReceipts)) return out("sent its receipt out of order");
      posted_[kReceipts].insert(site);
      const std::string refused = server_.add_receipt(from_wire(site, request.receipt()));
      changed_.notify_all();
      if (!refused.empty()) return out(refused);
      wait_for_stage(kReceipts, lock);
      if (!server_.takes_part(site)) return out(server_.exclusion_reason(site));
      for (const auto& v : server_.plan_for(site).mask_with) reply.add_mask_with(v);
      return reply;
    }
    case wire::SecAggRequest::kAwaitUnmask: {
      changed_.wait(lock, [&] { return unmask_ready_ || !aborted_.empty(); });
      if (!aborted_.empty()) throw Error("secure round aborted: " + aborted_);
      const auto& s = unmask_request_.survivors;
      if (std::find(s.begin(), s.end(), site) == s.end()) {
        return out("its masked input is not in the sum");
      }
      for (const auto& v : unmask_request_.survivors) reply.add_survivors(v);
      for (const auto& v : unmask_request_.dropped) reply.add_dropped(v);
      return reply;
    }
    case wire::SecAggRequest::kReveal: {
      if (!unmask_ready_ || revealed_.count(site)) return out("revealed shares out of order");
      const std::string refused = server_.add_unmask_response(from_wire(site, request.reveal()));
      revealed_.insert(site);
      changed_.notify_all();
      if (!refused.empty()) return out(refused);
      return reply;
    }
    default:
      return out("sent an empty secure-aggregation step");
  }
}

void SecureRound::site_failed(const std::string& site) {
  std::lock_guard<std::mutex> lock(mu_);
  failed_.insert(site);
  changed_.notify_all();
}

void SecureRound::abort(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  if (aborted_.empty()) aborted_ = why.empty() ? "aborted" : why;
  changed_.notify_all();
}

std::unique_ptr<UpdateSink> SecureRound::begin_update(const std::string& site, double) {
  std::lock_guard<std::mutex> lock(mu_);
  if (input_closed_) throw ShareableError("the round no longer takes masked input");
  const std::string refused = server_.can_send_masked_input(site);
  if (!refused.empty()) throw ShareableError(refused);
  auto sink = std::make_unique<MaskedSink>(*this, site, journals_->acquire());
  sinks_.insert(sink.get());
  return sink;
}

void SecureRound::close() {
  std::unique_lock<std::mutex> lock(mu_);
  if (input_closed_) return;
  input_closed_ = true;
  for (MaskedSink* sink : sinks_) sink->revoke();
  for (int s = 0; s < kStages; ++s) closed_[s] = true;  // nobody waits on a key stage any more
  server_.close_receipts();
  unmask_request_ = server_.unmask_request();
  unmask_ready_ = true;
  changed_.notify_all();
  // The survivors reveal their shares; wait for all of them, or the stage timeout. Below the
  // threshold honest sites refuse to reveal anything, so there is nothing to wait for.
  const bool enough = int(unmask_request_.survivors.size()) >= settings_.params.threshold;
  const auto until = Clock::now() + millis(enough ? settings_.stage_timeout_s : 0.0);
  changed_.wait_until(lock, until, [&] {
    if (!aborted_.empty()) return true;
    for (const auto& s : unmask_request_.survivors) {
      if (!revealed_.count(s) && !failed_.count(s)) return false;
    }
    return true;
  });
  std::vector<uint32_t> sum;
  {
    std::lock_guard<std::mutex> guard(sum_mu_);
    report_ = server_.finish(std::move(ring_sum_), sum);
    ring_sum_ = std::move(sum);
  }
  if (!aborted_.empty() && report_.succeeded) {
    report_.succeeded = false;
    report_.failure = "aborted: " + aborted_;
  }
  if (report_.succeeded) {
    total_weight_ = double(ring_sum_.back());
    if (total_weight_ <= 0) {
      report_.succeeded = false;
      report_.failure = "the summed weight of the survivors is 0";
    }
  }
  if (!report_.succeeded) ring_sum_.clear();  // nothing of a failed round is kept
  spdlog::info("job={} round={} secure aggregation: {} masked, {} dropped, {} excluded, {}",
               settings_.params.job, settings_.params.round, report_.masked.size(),
               report_.dropped.size(), report_.excluded.size(),
               report_.succeeded ? "masks removed" : "failed: " + report_.failure);
}

int SecureRound::committed_updates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_.succeeded ? int(report_.masked.size()) : 0;
}

double SecureRound::committed_weight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_.succeeded ? total_weight_ : 0.0;
}

SecAggReport SecureRound::report() const {
  std::lock_guard<std::mutex> lock(mu_);
  return report_;
}

const wire::ModelManifest& SecureRound::result_layout() const {
  return settings_.layout.tensors_size() > 0 ? settings_.layout : global_->manifest();
}

void SecureRound::write_result(ModelFileWriter& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!input_closed_) throw Error("write_result() before close()");
  if (!report_.succeeded) throw Error("secure aggregation failed: " + report_.failure);
  // Each tensor of the update layout is the global model's tensor of that name plus its mean
  // delta.
  std::map<std::string, uint64_t> global_offset;
  for (const auto& t : global_->manifest().tensors()) global_offset[t.name()] = t.offset();
  const wire::ModelManifest& layout = result_layout();
  const double per_unit = 1.0 / (settings_.code.scale * total_weight_);
  uint64_t word = 0;
  std::string in, buffer;
  for (const auto& t : layout.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    const uint64_t count = t.nbytes() / esize;
    const uint64_t batch = (1 << 20) / esize;
    for (uint64_t start = 0; start < count; start += batch) {
      const uint64_t n = std::min(batch, count - start);
      auto at = global_offset.find(t.name());
      if (at == global_offset.end()) {
        throw Error("secure aggregation: the global model has no tensor '" + t.name() + "'");
      }
      global_->read(at->second + start * esize, std::size_t(n * esize), in);
      buffer.resize(n * esize);
      const uint32_t* sum = ring_sum_.data() + word;
      if (t.dtype() == wire::FLOAT32) {  // the common case, without a per-element switch
        for (uint64_t i = 0; i < n; ++i) {
          float v;
          std::memcpy(&v, in.data() + 4 * i, 4);
          v = float(double(v) + double(int32_t(sum[i])) * per_unit);
          std::memcpy(buffer.data() + 4 * i, &v, 4);
        }
      } else {
        for (uint64_t i = 0; i < n; ++i) {
          const double mean_delta = double(int32_t(sum[i])) * per_unit;
          store_element(t.dtype(), load_element(t.dtype(), in.data() + i * esize) + mean_delta,
                        buffer.data() + i * esize);
        }
      }
      word += n;
      out.write(buffer.data(), buffer.size());
    }
  }
}

}  // namespace fedxray

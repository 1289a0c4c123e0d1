#include "coordinator/aggregation/robust_aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <spdlog/spdlog.h>

#include "base/error.h"
#include "coordinator/aggregation/finite_values.h"
#include "coordinator/aggregation/journaled_sink.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

constexpr uint64_t kChunkElements = 1 << 16;

bool is_float(wire::DType d) {
  return d == wire::FLOAT32 || d == wire::FLOAT64;
}

// Elements [first, first + count) of tensor `t` of one kept update, as doubles.
void read_elements(const UndoJournal& journal, const wire::TensorSpec& t, uint64_t first,
                   std::size_t count, std::string& raw, std::vector<double>& out) {
  const std::size_t esize = dtype_size(t.dtype());
  raw.resize(count * esize);
  const uint64_t at = t.offset() + first * esize;
  std::size_t done = 0;
  while (done < raw.size()) {
    const std::size_t n = journal.read(at + done, raw.data() + done, raw.size() - done);
    if (n == 0) throw Error("a kept update is shorter than the model (journal read failed)");
    done += n;
  }
  out.resize(count);
  for (std::size_t i = 0; i < count; ++i) out[i] = load_element(t.dtype(), raw.data() + i * esize);
}

}  // namespace

// Keeps the upload's bytes in its journal; nothing is folded until write_result().
class RobustSink : public JournaledSink {
 public:
  RobustSink(RobustAggregator& agg, std::string site, double weight,
             std::unique_ptr<UndoJournal> journal)
      : JournaledSink(std::move(site), "update", "model", agg.layout_.total_bytes(),
                      std::move(journal)),
        agg_(agg),
        weight_(weight) {}

  ~RobustSink() override {
    std::lock_guard<std::mutex> registry(agg_.sinks_mu_);
    agg_.open_sinks_.erase(this);
    abandon();
  }

 private:
  // Journals the bytes and refuses NaN or infinity at once, as they stream in (not at commit,
  // which runs under the job runner's lock). An element split across two chunks is checked
  // when its last byte arrives, from the journal.
  void add(uint64_t first_byte, const char* data, std::size_t size) override {
    journal().append(data, size);
    const uint64_t end = first_byte + size;
    for (const auto& t : agg_.layout_.tensors()) {
      if (!is_float(t.dtype())) continue;
      const uint64_t esize = dtype_size(t.dtype());
      const uint64_t lo = std::max<uint64_t>(t.offset(), first_byte);
      const uint64_t hi = std::min<uint64_t>(t.offset() + t.nbytes(), end);
      if (lo >= hi) continue;
      // Each element is checked once, in the chunk that holds its last byte.
      uint64_t at = t.offset() + (lo - t.offset()) / esize * esize;
      bool finite = true;
      if (at < first_byte) {  // begun in an earlier chunk: read it whole from the journal
        if (at + esize > hi) continue;  // still incomplete
        char bytes[8];
        if (journal().read(at, bytes, esize) != esize) {
          throw Error("a kept update could not be read back from its journal");
        }
        finite = all_finite(t.dtype(), bytes, 1);
        at += esize;
      }
      if (!finite || !all_finite(t.dtype(), data + (at - first_byte), (hi - at) / esize)) {
        throw ShareableError("tensor '" + t.name() + "' holds NaN or infinite values");
      }
    }
  }
  void undo() override {}  // the bytes only ever were in the journal, which goes with the sink
  void on_commit() override { agg_.keep(site(), weight_, release_journal()); }

  RobustAggregator& agg_;
  double weight_;
};

RobustAggregator::RobustAggregator(const wire::ModelManifest& layout, RobustAggregationConfig rule,
                                   std::shared_ptr<UndoJournalPool> journals)
    : layout_(layout), rule_(std::move(rule)), journals_(std::move(journals)) {
  std::string problem = manifest_problem(layout_);
  if (!problem.empty()) throw Error("cannot aggregate a malformed model layout: " + problem);
  if (rule_.rule != "median" && rule_.rule != "trimmed_mean" && rule_.rule != "multi_krum") {
    throw Error("unknown robust aggregation rule '" + rule_.rule + "'");
  }
}

RobustAggregator::~RobustAggregator() = default;

std::unique_ptr<UpdateSink> RobustAggregator::begin_update(const std::string& site, double weight) {
  if (!(weight > 0) || !std::isfinite(weight)) {
    throw ShareableError("update from " + site + " has weight " + std::to_string(weight) +
                         "; the sample count must be positive");
  }
  std::lock_guard<std::mutex> registry(sinks_mu_);
  if (closed_) {
    throw ShareableError("the round is closed; the update from " + site + " was not accepted");
  }
  auto sink = std::make_unique<RobustSink>(*this, site, weight, journals_->acquire());
  open_sinks_.insert(sink.get());
  return sink;
}

void RobustAggregator::keep(const std::string& site, double weight,
                            std::unique_ptr<UndoJournal> bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  kept_.push_back(Kept{site, weight, std::move(bytes)});
}

void RobustAggregator::close() {
  std::lock_guard<std::mutex> registry(sinks_mu_);
  closed_ = true;
  for (RobustSink* sink : open_sinks_) sink->revoke();
}

int RobustAggregator::committed_updates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return int(kept_.size());
}

double RobustAggregator::committed_weight() const {
  std::lock_guard<std::mutex> lock(mu_);
  double total = 0;
  for (const auto& k : kept_) total += k.weight;
  return total;
}

std::vector<std::string> RobustAggregator::krum_selection() const {
  std::lock_guard<std::mutex> lock(mu_);
  return krum_selection_;
}

std::vector<std::size_t> RobustAggregator::select_krum() const {
  const std::size_t n = kept_.size();
  const int f = rule_.byzantine_sites;
  if (int(n) < 2 * f + 3) {
    throw Error("multi_krum with byzantine_sites = " + std::to_string(f) + " needs at least " +
                std::to_string(2 * f + 3) + " updates; this round has " + std::to_string(n));
  }
  // Pairwise squared distances over the floating-point elements, one chunk at a time.
  std::vector<std::vector<double>> dist(n, std::vector<double>(n, 0.0));
  std::vector<std::vector<double>> values(n);
  std::string raw;
  for (const auto& t : layout_.tensors()) {
    if (!is_float(t.dtype())) continue;
    const uint64_t count = t.nbytes() / dtype_size(t.dtype());
    for (uint64_t start = 0; start < count; start += kChunkElements) {
      const std::size_t len = std::size_t(std::min(kChunkElements, count - start));
      for (std::size_t i = 0; i < n; ++i)
        read_elements(*kept_[i].bytes, t, start, len, raw, values[i]);
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = i + 1; j < n; ++j) {
          double d = 0;
          for (std::size_t e = 0; e < len; ++e) {
            const double diff = values[i][e] - values[j][e];
            d += diff * diff;
          }
          dist[i][j] += d;
          dist[j][i] += d;
        }
      }
    }
  }
  const std::size_t neighbours = n - std::size_t(f) - 2;
  std::vector<double> score(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<double> others;
    for (std::size_t j = 0; j < n; ++j) {
      if (j != i) others.push_back(dist[i][j]);
    }
    std::sort(others.begin(), others.end());
    score[i] = std::accumulate(others.begin(), others.begin() + long(neighbours), 0.0);
  }
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // Lowest score first; ties go to the site name, so the choice never depends on arrival order.
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return score[a] != score[b] ? score[a] < score[b] : kept_[a].site < kept_[b].site;
  });
  const std::size_t m =
      rule_.krum_selected > 0 ? std::min(n, std::size_t(rule_.krum_selected)) : n - std::size_t(f);
  order.resize(m);
  return order;
}

void RobustAggregator::write_result(ModelFileWriter& out) const {
  {
    std::lock_guard<std::mutex> registry(sinks_mu_);
    if (!closed_) throw Error("write_result() before close(): open updates would leak into it");
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (kept_.empty()) throw Error("no update was committed; there is nothing to aggregate");
  const std::size_t n = kept_.size();
  std::vector<std::size_t> chosen;
  if (rule_.rule == "multi_krum") {
    chosen = select_krum();
    krum_selection_.clear();
    for (std::size_t i : chosen) krum_selection_.push_back(kept_[i].site);
    std::sort(krum_selection_.begin(), krum_selection_.end());
    std::string names;
    for (const auto& site : krum_selection_) names += (names.empty() ? "" : ", ") + site;
    spdlog::info("multi_krum averaged {} of {} updates: {}", chosen.size(), n, names);
  }
  const std::size_t trim =
      rule_.rule == "trimmed_mean" ? std::size_t(std::floor(rule_.trim_fraction * double(n))) : 0;

  std::vector<std::vector<double>> values(n);
  std::vector<double> column(n);
  std::string raw, result;
  for (const auto& t : layout_.tensors()) {
    const std::size_t esize = dtype_size(t.dtype());
    const uint64_t count = t.nbytes() / esize;
    for (uint64_t start = 0; start < count; start += kChunkElements) {
      const std::size_t len = std::size_t(std::min(kChunkElements, count - start));
      for (std::size_t i = 0; i < n; ++i)
        read_elements(*kept_[i].bytes, t, start, len, raw, values[i]);
      result.resize(len * esize);
      for (std::size_t e = 0; e < len; ++e) {
        double v = 0;
        if (!chosen.empty()) {
          for (std::size_t i : chosen) v += values[i][e];
          v /= double(chosen.size());
        } else {
          for (std::size_t i = 0; i < n; ++i) column[i] = values[i][e];
          std::sort(column.begin(), column.end());
          if (rule_.rule == "median") {
            v = n % 2 ? column[n / 2] : 0.5 * (column[n / 2 - 1] + column[n / 2]);
          } else {
            for (std::size_t i = trim; i < n - trim; ++i) v += column[i];
            v /= double(n - 2 * trim);
          }
        }
        if (!std::isfinite(v)) {  // e.g. huge finite values summed past the float range
          throw Error("the " + rule_.rule + " of tensor '" + t.name() +
                      "' is not finite; the round's model is not published");
        }
        if (!is_float(t.dtype())) v = std::round(v);
        store_element(t.dtype(), v, result.data() + e * esize);
      }
      out.write(result.data(), result.size());
    }
  }
}

}  // namespace fedxray

#include "coordinator/aggregation/streaming_fedavg.h"

#include "coordinator/aggregation/journaled_sink.h"

#include <algorithm>
#include <cerrno>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "base/error.h"
#include "coordinator/aggregation/finite_values.h"
#include "coordinator/aggregation/undo_journal.h"
#include "wire/model_file.h"

namespace fedxray {
namespace {

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// __restrict: the update bytes never overlap the accumulator, which lets this vectorise.
template <typename T>
void accumulate(double* __restrict acc, const char* __restrict data, std::size_t count, double w) {
  for (std::size_t i = 0; i < count; ++i) acc[i] += w * double(load<T>(data + i * sizeof(T)));
}

}  // namespace

// Walks the update's byte stream, turning it into whole-element runs per tensor.
class FedAvgSink : public JournaledSink {
 public:
  FedAvgSink(StreamingFedAvg& agg, std::string site, double weight,
             std::unique_ptr<UndoJournal> journal)
      : JournaledSink(std::move(site), "update", "model", agg.layout_.total_bytes(),
                      std::move(journal)),
        agg_(agg),
        weight_(weight) {}

  // Deregisters first, under the aggregator's sink lock, so close() never misses an undo.
  ~FedAvgSink() override {
    std::lock_guard<std::mutex> registry(agg_.sinks_mu_);
    agg_.open_sinks_.erase(this);
    abandon();
  }

 private:
  void add(uint64_t, const char* data, std::size_t size) override {
    consume(cursor_, data, size, weight_, true);
  }
  void on_commit() override { agg_.on_commit(weight_); }

  struct Cursor {
    uint64_t position = 0;   // stream bytes consumed (including pending)
    std::size_t tensor = 0;
    char pending[8];
    std::size_t pending_len = 0;
  };

  void consume(Cursor& c, const char* data, std::size_t size, double weight, bool journal) {
    const auto& tensors = agg_.layout_.tensors();
    while (size > 0) {
      while (c.tensor < std::size_t(tensors.size()) &&
             c.position >= tensors[int(c.tensor)].offset() + tensors[int(c.tensor)].nbytes()) {
        ++c.tensor;
      }
      const auto& t = tensors[int(c.tensor)];
      const std::size_t esize = dtype_size(t.dtype());
      const uint64_t tensor_end = t.offset() + t.nbytes();
      if (c.pending_len > 0) {
        std::size_t take = std::min(esize - c.pending_len, size);
        std::memcpy(c.pending + c.pending_len, data, take);
        c.pending_len += take;
        c.position += take;
        data += take;
        size -= take;
        if (c.pending_len == esize) {
          uint64_t element = (c.position - esize - t.offset()) / esize;
          apply(c.tensor, element, c.pending, 1, weight, journal);
          c.pending_len = 0;
        }
        continue;
      }
      const uint64_t in_tensor = std::min<uint64_t>(tensor_end - c.position, size);
      const std::size_t whole = std::size_t(in_tensor / esize);
      if (whole > 0) {
        apply(c.tensor, (c.position - t.offset()) / esize, data, whole, weight, journal);
        const std::size_t bytes = whole * esize;
        c.position += bytes;
        data += bytes;
        size -= bytes;
      } else {
        // Fewer bytes than one element left in this call: keep them for the next chunk.
        std::memcpy(c.pending, data, size);
        c.pending_len = size;
        c.position += size;
        size = 0;
      }
    }
  }

  void apply(std::size_t tensor, uint64_t element, const char* data, std::size_t count,
             double weight, bool journal) {
    agg_.add(tensor, element, data, count, weight);
    if (!journal) return;
    try {
      JournaledSink::journal().append(data, count * dtype_size(agg_.layout_.tensors(int(tensor)).dtype()));
    } catch (const Error&) {
      // Without a journal the contribution could not be undone later; take it out now.
      agg_.add(tensor, element, data, count, -weight);
      throw;
    }
  }

  void undo() override {
    Cursor replay;
    std::string buffer(1 << 20, '\0');
    try {
      for (uint64_t offset = 0; offset < journal().size();) {
        const std::size_t n = journal().read(offset, buffer.data(), buffer.size());
        consume(replay, buffer.data(), n, -weight_, false);
        offset += n;
      }
    } catch (const Error& e) {
      agg_.poison("the undo of a failed update from " + site() + " failed: " + e.what());
    }
  }

  StreamingFedAvg& agg_;
  double weight_;
  Cursor cursor_;
};

StreamingFedAvg::StreamingFedAvg(const wire::ModelManifest& layout, const std::string& journal_dir)
    : StreamingFedAvg(layout, UndoJournalPool::create(journal_dir)) {}

StreamingFedAvg::StreamingFedAvg(const wire::ModelManifest& layout,
                                 std::shared_ptr<UndoJournalPool> journals)
    : layout_(layout), journals_(std::move(journals)) {
  std::string problem = manifest_problem(layout_);
  if (!problem.empty()) throw Error("cannot aggregate a malformed model layout: " + problem);
  uint64_t elements = 0;
  for (const auto& t : layout_.tensors()) {
    element_base_.push_back(elements);
    elements += t.nbytes() / dtype_size(t.dtype());
  }
  acc_.assign(elements, 0.0);
}

std::unique_ptr<UpdateSink> StreamingFedAvg::begin_update(const std::string& site, double weight) {
  if (!(weight > 0) || !std::isfinite(weight)) {
    throw ShareableError("update from " + site + " has weight " + std::to_string(weight) +
                         "; the sample count must be positive");
  }
  std::lock_guard<std::mutex> registry(sinks_mu_);
  if (closed_) throw ShareableError("the round is closed; the update from " + site + " was not accepted");
  auto sink = std::make_unique<FedAvgSink>(*this, site, weight, journals_->acquire());
  open_sinks_.insert(sink.get());
  return sink;
}

void StreamingFedAvg::close() {
  std::lock_guard<std::mutex> registry(sinks_mu_);
  closed_ = true;
  for (FedAvgSink* sink : open_sinks_) sink->revoke();
}

template <typename T>
void StreamingFedAvg::add_checked(const wire::TensorSpec& t, double* acc, const char* data,
                                  std::size_t count, double weight) {
  // Check and add in cache-sized blocks so the bytes are read from memory once. A block with
  // NaN or Inf is refused before it touches the sum, and the blocks before it are taken back.
  constexpr std::size_t kBlock = 8192;
  for (std::size_t start = 0; start < count; start += kBlock) {
    const std::size_t n = std::min(kBlock, count - start);
    const char* block = data + start * sizeof(T);
    if (std::is_floating_point<T>::value && !all_finite<T>(block, n)) {
      accumulate<T>(acc, data, start, -weight);
      throw ShareableError("tensor '" + t.name() + "' holds NaN or infinite values");
    }
    accumulate<T>(acc + start, block, n, weight);
  }
}

void StreamingFedAvg::add(std::size_t tensor, uint64_t first_element, const char* data,
                          std::size_t count, double weight) {
  const auto& t = layout_.tensors(int(tensor));
  std::lock_guard<std::mutex> lock(mu_);
  double* acc = acc_.data() + element_base_[tensor] + first_element;
  switch (t.dtype()) {
    case wire::FLOAT32: add_checked<float>(t, acc, data, count, weight); break;
    case wire::FLOAT64: add_checked<double>(t, acc, data, count, weight); break;
    case wire::INT64: add_checked<int64_t>(t, acc, data, count, weight); break;
    case wire::INT32: add_checked<int32_t>(t, acc, data, count, weight); break;
    case wire::UINT8: add_checked<uint8_t>(t, acc, data, count, weight); break;
    default: throw ShareableError("unsupported dtype in tensor '" + t.name() + "'");
  }
}

void StreamingFedAvg::poison(const std::string& why) {
  std::lock_guard<std::mutex> lock(mu_);
  poisoned_ = why;
}

void StreamingFedAvg::on_commit(double weight) {
  std::lock_guard<std::mutex> lock(mu_);
  ++committed_;
  weight_ += weight;
}

int StreamingFedAvg::committed_updates() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_;
}

double StreamingFedAvg::committed_weight() const {
  std::lock_guard<std::mutex> lock(mu_);
  return weight_;
}

void StreamingFedAvg::write_result(ModelFileWriter& out) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!closed_) throw Error("write_result() before close(): open updates would leak into it");
  if (!poisoned_.empty()) throw Error("the aggregate cannot be trusted: " + poisoned_);
  if (committed_ == 0) throw Error("no update was committed; there is nothing to average");
  const double inv = 1.0 / weight_;
  std::string buffer;
  for (int ti = 0; ti < layout_.tensors_size(); ++ti) {
    const auto& t = layout_.tensors(ti);
    const std::size_t esize = dtype_size(t.dtype());
    const uint64_t count = t.nbytes() / esize;
    const double* acc = acc_.data() + element_base_[std::size_t(ti)];
    const uint64_t batch = (1 << 20) / esize;
    for (uint64_t start = 0; start < count; start += batch) {
      const uint64_t n = std::min(batch, count - start);
      buffer.resize(n * esize);
      char* dst = buffer.data();
      for (uint64_t i = 0; i < n; ++i) {
        const double mean = acc[start + i] * inv;
        switch (t.dtype()) {
          case wire::FLOAT32: { float v = float(mean); std::memcpy(dst + i * 4, &v, 4); break; }
          case wire::FLOAT64: std::memcpy(dst + i * 8, &mean, 8); break;
          case wire::INT64: { int64_t v = std::llround(mean); std::memcpy(dst + i * 8, &v, 8); break; }
          case wire::INT32: { int32_t v = int32_t(std::lround(mean)); std::memcpy(dst + i * 4, &v, 4); break; }
          case wire::UINT8: { uint8_t v = uint8_t(std::lround(mean)); dst[i] = char(v); break; }
          default: break;
        }
      }
      out.write(buffer.data(), buffer.size());
    }
  }
}

}  // namespace fedxray

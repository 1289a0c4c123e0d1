// Streaming FedAvg: the pooled model is the sample-weighted mean of the committed updates,
// folded chunk by chunk; failed uploads leave no trace.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <random>

#include "base/error.h"
#include "wire/model_file.h"
#include "coordinator/aggregation/fedavg_strategy.h"
#include "coordinator/aggregation/streaming_fedavg.h"
#include "tests/test_support.h"

using namespace fedxray;

namespace {

// Feeds the update in pieces of random size (1 byte .. 3 MiB), so element and tensor boundaries
// fall inside pieces and between them.
void stream_in(UpdateSink& sink, const ModelBlob& update, uint64_t seed, uint64_t limit = UINT64_MAX) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::size_t> piece(1, 3 << 20);
  uint64_t offset = 0;
  const uint64_t end = std::min<uint64_t>(limit, update.bytes.size());
  while (offset < end) {
    std::size_t n = std::min<uint64_t>(rng() % 3 == 0 ? rng() % 7 + 1 : piece(rng), end - offset);
    sink.fold(offset, update.bytes.data() + offset, n);
    offset += n;
  }
}

ModelBlob result_of(Aggregator& agg, const wire::ModelManifest& layout, const std::string& dir) {
  agg.close();
  ModelFileWriter w(dir + "/pooled.fxm", layout);
  agg.write_result(w);
  w.commit();
  return read_model_file(dir + "/pooled.fxm");
}

float f32(const ModelBlob& b, uint64_t byte) {
  float v;
  std::memcpy(&v, b.bytes.data() + byte, 4);
  return v;
}

}  // namespace

TEST_CASE("streaming FedAvg equals the sample-weighted mean computed directly", "[fedavg]") {
  testing::TempDir dir;
  std::vector<ModelBlob> updates;
  const std::vector<double> weights = {120, 35, 845};
  for (uint64_t s = 0; s < 3; ++s) updates.push_back(testing::make_model({7, 400001, 3, 65536}, s + 1));
  StreamingFedAvg agg(updates[0].manifest, dir.path);
  for (std::size_t s = 0; s < updates.size(); ++s) {
    auto sink = agg.begin_update("site-" + std::to_string(s), weights[s]);
    stream_in(*sink, updates[s], 100 + s);
    sink->commit();
  }
  CHECK(agg.committed_updates() == 3);
  CHECK(agg.committed_weight() == 1000);
  ModelBlob pooled = result_of(agg, updates[0].manifest, dir.path);

  const double total = 120 + 35 + 845;
  std::size_t mismatches = 0;
  for (const auto& t : updates[0].manifest.tensors()) {
    if (t.dtype() != wire::FLOAT32) continue;
    for (uint64_t b = t.offset(); b < t.offset() + t.nbytes(); b += 4) {
      double expected = 0;
      for (std::size_t s = 0; s < 3; ++s) expected += weights[s] * f32(updates[s], b);
      mismatches += f32(pooled, b) != float(expected / total);
    }
  }
  CHECK(mismatches == 0);
  // The int64 counter is averaged and rounded: (1*120 + 2*35 + 3*845) / 1000 = 2.725 -> 3.
  int64_t counter;
  std::memcpy(&counter, pooled.bytes.data() + pooled.manifest.tensors(4).offset(), 8);
  CHECK(counter == 3);
}

TEST_CASE("an upload that breaks half way is taken back out of the sum", "[fedavg]") {
  testing::TempDir dir;
  ModelBlob a = testing::make_model({1000, 300000}, 1), b = testing::make_model({1000, 300000}, 2);
  ModelBlob garbage = testing::make_model({1000, 300000}, 99);
  StreamingFedAvg agg(a.manifest, dir.path);
  {
    auto sink = agg.begin_update("a", 10);
    stream_in(*sink, a, 1);
    sink->commit();
  }
  {
    auto broken = agg.begin_update("broken", 500);
    stream_in(*broken, garbage, 7, garbage.bytes.size() / 2 + 3);  // stream dies mid-element
  }  // destroyed without commit
  {
    auto sink = agg.begin_update("b", 30);
    stream_in(*sink, b, 2);
    sink->commit();
  }
  CHECK(agg.committed_updates() == 2);
  ModelBlob pooled = result_of(agg, a.manifest, dir.path);
  double worst = 0;
  for (uint64_t byte = 0; byte < a.manifest.tensors(1).offset() + a.manifest.tensors(1).nbytes();
       byte += 4) {
    const double expected = (10.0 * f32(a, byte) + 30.0 * f32(b, byte)) / 40.0;
    worst = std::max(worst, std::fabs(f32(pooled, byte) - expected));
  }
  CHECK(worst < 1e-6);
}

TEST_CASE("NaN values and out-of-order bytes are refused and leave no trace", "[fedavg]") {
  testing::TempDir dir;
  ModelBlob a = testing::make_model({5000}, 1);
  ModelBlob nan_update = a;
  const float nan = std::nanf("");
  std::memcpy(nan_update.bytes.data() + 4 * 4000, &nan, 4);
  StreamingFedAvg agg(a.manifest, dir.path);
  {
    auto sink = agg.begin_update("nan-site", 100);
    REQUIRE_THROWS_WITH(sink->fold(0, nan_update.bytes.data(), nan_update.bytes.size()),
                        Catch::Contains("NaN or infinite"));
  }
  {
    auto sink = agg.begin_update("jumpy", 100);
    sink->fold(0, a.bytes.data(), 8);
    REQUIRE_THROWS_WITH(sink->fold(16, a.bytes.data() + 16, 8), Catch::Contains("out of order"));
    REQUIRE_THROWS_WITH(sink->commit(), Catch::Contains("ended after 8 of"));
  }
  {
    auto sink = agg.begin_update("good", 3);
    stream_in(*sink, a, 4);
    sink->commit();
  }
  ModelBlob pooled = result_of(agg, a.manifest, dir.path);
  CHECK(pooled.bytes == a.bytes);  // only the good update counts: mean of one is itself
}

TEST_CASE("closing takes uploads still in flight back out, and refuses them afterwards",
          "[fedavg]") {
  testing::TempDir dir;
  ModelBlob a = testing::make_model({1000, 300000}, 1);
  ModelBlob late = testing::make_model({1000, 300000}, 2);
  StreamingFedAvg agg(a.manifest, dir.path);
  {
    auto sink = agg.begin_update("on-time", 10);
    stream_in(*sink, a, 1);
    sink->commit();
  }
  auto in_flight = agg.begin_update("late", 90);
  stream_in(*in_flight, late, 3, late.bytes.size() - 1001);  // most of it, not all
  ModelBlob pooled = result_of(agg, a.manifest, dir.path);  // closes the round
  CHECK(pooled.bytes == a.bytes);                          // the late bytes are gone
  CHECK_THROWS_WITH(in_flight->fold(late.bytes.size() - 1001, late.bytes.data(), 1000),
                    Catch::Contains("round closed"));
  CHECK_THROWS_WITH(in_flight->commit(), Catch::Contains("round closed"));
  in_flight.reset();  // destroying a revoked sink must not subtract it a second time
  CHECK(result_of(agg, a.manifest, dir.path).bytes == a.bytes);
  CHECK_THROWS_WITH(agg.begin_update("later", 1), Catch::Contains("round is closed"));
}

TEST_CASE("an aggregate with no committed update refuses to produce a model", "[fedavg]") {
  testing::TempDir dir;
  ModelBlob a = testing::make_model({10}, 1);
  StreamingFedAvg agg(a.manifest, dir.path);
  ModelFileWriter w(dir.path + "/p.fxm", a.manifest);
  CHECK_THROWS_WITH(agg.write_result(w), Catch::Contains("before close()"));
  agg.close();
  CHECK_THROWS_WITH(agg.write_result(w), Catch::Contains("nothing to average"));
  CHECK_THROWS_WITH(agg.begin_update("zero", 0), Catch::Contains("must be positive"));
}

TEST_CASE("FedAvg site selection is seeded, bounded and without repeats", "[fedavg]") {
  testing::TempDir dir;
  FedAvgStrategy one(5, dir.path), same(5, dir.path), other(6, dir.path);
  std::vector<std::string> sites = {"a", "b", "c", "d", "e", "f"};
  auto picked = one.select_sites(1, sites, 3);
  CHECK(picked.size() == 3);
  CHECK(std::set<std::string>(picked.begin(), picked.end()).size() == 3);
  CHECK(picked == same.select_sites(1, sites, 3));
  bool differs = false;
  for (int r = 1; r <= 5; ++r) differs |= one.select_sites(r, sites, 3) != other.select_sites(r, sites, 3);
  CHECK(differs);
  CHECK(one.select_sites(2, {"a", "b"}, 5).size() == 2);
}

TEST_CASE("an update committed twice counts once", "[fedavg]") {
  testing::TempDir dir;
  ModelBlob a = testing::make_model({64}, 1);
  StreamingFedAvg agg(a.manifest, dir.path);
  auto sink = agg.begin_update("twice", 5);
  sink->fold(0, a.bytes.data(), a.bytes.size());
  sink->commit();
  REQUIRE_THROWS_WITH(sink->commit(), Catch::Contains("already committed"));
  REQUIRE_THROWS_WITH(sink->fold(0, a.bytes.data(), 4), Catch::Contains("already committed"));
  CHECK(agg.committed_updates() == 1);
  CHECK(agg.committed_weight() == 5);
}

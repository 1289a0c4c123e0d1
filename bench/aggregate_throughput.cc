// aggregate_throughput: update bytes folded per second by the streaming FedAvg aggregator, next
// to a plain `acc[i] += w * x[i]` loop over the same sizes (double accumulator, float32 input).
//
//   build/bench/aggregate_throughput --params 11200000 --updates 10
//
// The last line is one JSON object; `ratio` = aggregator / plain loop (target >= 0.5).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <vector>

#include <nlohmann/json.hpp>

#include "bench/resnet_layout.h"
#include "coordinator/aggregation/streaming_fedavg.h"
#include "wire/model_stream.h"

using namespace fedxray;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"aggregate_throughput: streaming FedAvg fold rate vs a plain memory loop"};
  int64_t params = 11200000;
  int updates = 10, repeats = 3;
  app.add_option("--params", params)->capture_default_str();
  app.add_option("--updates", updates, "updates folded per measurement")->capture_default_str();
  app.add_option("--repeats", repeats, "measurements; the best is reported")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  ModelBlob update = bench::resnet18_like_model(params, 3);
  const uint64_t bytes = update.bytes.size();
  const std::size_t n = bytes / 4;
  std::string journal = std::filesystem::temp_directory_path().string();

  double best_agg = 1e30, best_loop = 1e30;
  for (int r = 0; r < repeats; ++r) {
    {
      StreamingFedAvg agg(update.manifest, journal);
      auto t = std::chrono::steady_clock::now();
      for (int u = 0; u < updates; ++u) {
        auto sink = agg.begin_update("site-" + std::to_string(u), 100.0 + u);
        for_each_chunk(bytes, [&](uint64_t off, std::size_t size) {
          sink->fold(off, update.bytes.data() + off, size);
        });
        sink->commit();
      }
      best_agg = std::min(best_agg, seconds_since(t));
    }
    {
      std::vector<double> acc(n, 0.0);
      std::vector<float> x(n);
      std::memcpy(x.data(), update.bytes.data(), bytes);
      auto t = std::chrono::steady_clock::now();
      for (int u = 0; u < updates; ++u) {
        const double w = 100.0 + u;
        for (std::size_t i = 0; i < n; ++i) acc[i] += w * double(x[i]);
        // Keep the compiler from fusing the per-update passes into one.
        asm volatile("" : : "r"(acc.data()), "r"(x.data()) : "memory");
      }
      best_loop = std::min(best_loop, seconds_since(t));
      volatile double sink = acc[n / 2];
      (void)sink;
    }
  }
  const double total = double(bytes) * updates;
  const double agg_gbs = total / best_agg / 1e9, loop_gbs = total / best_loop / 1e9;
  std::cout << "params=" << n << " updates=" << updates << " aggregator " << agg_gbs
            << " GB/s of update bytes, plain loop " << loop_gbs << " GB/s, ratio "
            << agg_gbs / loop_gbs << "\n";
  std::cout << nlohmann::json{{"bench", "aggregate_throughput"}, {"params", n},
                              {"updates", updates},           {"aggregator_gb_per_s", agg_gbs},
                              {"plain_loop_gb_per_s", loop_gbs}, {"ratio", agg_gbs / loop_gbs}}
                   .dump()
            << std::endl;
  return 0;
}

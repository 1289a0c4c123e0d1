// train_throughput: training images per second with the full site pipeline — decode the
// 1024x1024 PNGs, resize, augment, standardise (on a background thread, one batch ahead), then
// forward, backward and optimiser step — and where the time goes (decode vs compute).
//
//   build/bench/train_throughput --manifest ../shared/data/nih-chestxray8-pneumonia-subset/labels.csv
//
// bench/reference/train_throughput.py does the same in PyTorch from Python for comparison.
// The last line is one JSON object.
#include <CLI/CLI.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <random>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/csv_manifest.h"
#include "data/image_file.h"
#include "models/model_registry.h"
#include "training/batch_pipeline.h"

using namespace fedxray;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct HostBatch {
  std::vector<float> pixels;
  std::vector<int64_t> labels;
};

HostBatch prepare(const std::vector<std::string>& files, const std::vector<int64_t>& labels,
                  std::size_t first, int batch, int size, uint64_t seed) {
  HostBatch b;
  const std::size_t n = std::size_t(size) * std::size_t(size);
  b.pixels.resize(std::size_t(batch) * n);
  Augmentation aug;
  aug.enabled = true;
  for (int k = 0; k < batch; ++k) {
    const std::size_t i = (first + std::size_t(k)) % files.size();
    std::vector<float> resized = resize_square(decode_image_file(files[i]), size);
    augment_image(resized.data(), size, aug, seed + i, b.pixels.data() + std::size_t(k) * n);
    standardise(b.pixels.data() + std::size_t(k) * n, n);
    b.labels.push_back(labels[i]);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"train_throughput: images/s for decode + augment + train, and where time goes"};
  std::string manifest = "../shared/data/nih-chestxray8-pneumonia-subset/labels.csv";
  std::string model_name = "resnet18";
  int size = 224, batch = 16, batches = 8, threads = 2;
  app.add_option("--manifest", manifest, "CSV with filename,label_id (1024 px PNGs)")->capture_default_str();
  app.add_option("--model", model_name)->capture_default_str();
  app.add_option("--image-size", size)->capture_default_str();
  app.add_option("--batch", batch)->capture_default_str();
  app.add_option("--batches", batches, "timed batches (one warm-up batch first)")->capture_default_str();
  app.add_option("--threads", threads, "LibTorch intra-op threads")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  torch::set_num_threads(threads);
  CsvManifest m = CsvManifest::load(manifest);
  const auto file_col = m.column("filename", "--manifest"), label_col = m.column("label_id", "--manifest");
  std::vector<std::string> files;
  std::vector<int64_t> labels;
  const auto base = std::filesystem::path(manifest).parent_path();
  for (std::size_t r = 0; r < m.rows(); ++r) {
    files.push_back((base / m.cell(r, file_col)).string());
    labels.push_back(std::stoll(m.cell(r, label_col)));
  }
  auto model = create_model({model_name, 2, size, 1});
  torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(0.01).momentum(0.9));
  model->train();
  auto step = [&](HostBatch& b) {
    torch::Tensor x = torch::from_blob(b.pixels.data(), {int64_t(b.labels.size()), 1, size, size});
    torch::Tensor y = torch::from_blob(b.labels.data(), {int64_t(b.labels.size())}, torch::kInt64);
    optimizer.zero_grad();
    torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    optimizer.step();
  };

  // Where time goes, measured apart: decode+resize+augment of one batch, then one training step.
  auto t = Clock::now();
  HostBatch warm = prepare(files, labels, 0, batch, size, 1);
  const double prepare_s = since(t);
  t = Clock::now();
  step(warm);
  step(warm);
  const double compute_s = since(t) / 2;

  // The pipeline: the next batch is prepared on a background thread while this one trains.
  t = Clock::now();
  std::future<HostBatch> next = std::async(std::launch::async, prepare, std::cref(files),
                                           std::cref(labels), std::size_t(batch), batch, size, 2);
  for (int b = 0; b < batches; ++b) {
    HostBatch current = next.get();
    if (b + 1 < batches) {
      next = std::async(std::launch::async, prepare, std::cref(files), std::cref(labels),
                        std::size_t(batch) * std::size_t(b + 2), batch, size, uint64_t(b + 3));
    }
    step(current);
  }
  const double total = since(t);
  const double ips = double(batch) * batches / total;
  std::cout << model_name << " " << size << "px batch " << batch << ": " << ips
            << " images/s with the full pipeline; per batch: decode+resize+augment " << prepare_s
            << " s (1 thread), forward+backward+step " << compute_s << " s (" << threads
            << " threads)\n";
  std::cout << nlohmann::json{{"bench", "train_throughput"}, {"implementation", "fedxray C++"},
                              {"model", model_name},      {"image_size", size},
                              {"batch", batch},           {"images_per_s", ips},
                              {"prepare_batch_s", prepare_s}, {"compute_batch_s", compute_s}}
                   .dump()
            << std::endl;
  return 0;
}

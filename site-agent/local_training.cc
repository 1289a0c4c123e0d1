#include "site-agent/local_training.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "common/error.h"
#include "site-agent/trainer.h"

namespace fedxray {
namespace {

// Each image is standardised to zero mean and unit variance, so a site's scanner brightness
// and contrast do not become something the pooled model has to learn.
torch::Tensor batch_images(const ImageSet& data, const std::vector<std::size_t>& idx,
                           std::size_t begin, std::size_t end) {
  const int64_t s = data.image_size;
  const int64_t n = s * s;
  torch::Tensor out = torch::empty({int64_t(end - begin), 1, s, s});
  float* dst = out.data_ptr<float>();
  for (std::size_t k = begin; k < end; ++k) {
    const float* src = data.image(idx[k]);
    double sum = 0, sq = 0;
    for (int64_t p = 0; p < n; ++p) {
      sum += src[p];
      sq += double(src[p]) * src[p];
    }
    const double mean = sum / double(n);
    const double sd = std::sqrt(std::max(sq / double(n) - mean * mean, 1e-12));
    const float scale = float(1.0 / std::max(sd, 1e-3));
    for (int64_t p = 0; p < n; ++p) *dst++ = (src[p] - float(mean)) * scale;
  }
  return out;
}

torch::Tensor batch_labels(const ImageSet& data, const std::vector<std::size_t>& idx,
                           std::size_t begin, std::size_t end) {
  torch::Tensor out = torch::empty({int64_t(end - begin)}, torch::kInt64);
  for (std::size_t k = begin; k < end; ++k) out[int64_t(k - begin)] = data.labels[idx[k]];
  return out;
}

}  // namespace

double train_epochs(ImageClassifier& model, const ImageSet& data, const TrainingOptions& o,
                    const std::function<bool(double)>& on_batch) {
  if (data.count() == 0) throw Error("no training images");
  model.train();
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.optimizer == "adam") {
    optimizer = std::make_unique<torch::optim::Adam>(model.parameters(),
                                                     torch::optim::AdamOptions(o.learning_rate));
  } else {
    optimizer = std::make_unique<torch::optim::SGD>(
        model.parameters(), torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum));
  }
  std::vector<std::size_t> order(data.count());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(o.seed);
  const std::size_t batch = std::size_t(std::max(1, o.batch_size));
  const std::size_t batches_per_epoch = (order.size() + batch - 1) / batch;
  double last_epoch_loss = 0;
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::shuffle(order.begin(), order.end(), rng);
    double sum = 0;
    std::size_t seen = 0;
    for (std::size_t b = 0; b < batches_per_epoch; ++b) {
      const std::size_t begin = b * batch, end = std::min(order.size(), begin + batch);
      torch::Tensor x = batch_images(data, order, begin, end);
      torch::Tensor y = batch_labels(data, order, begin, end);
      optimizer->zero_grad();
      torch::Tensor loss = torch::nn::functional::cross_entropy(model.forward(x), y);
      loss.backward();
      optimizer->step();
      sum += loss.item<double>() * double(end - begin);
      seen += end - begin;
      const double fraction = (double(epoch) + double(b + 1) / double(batches_per_epoch)) / o.epochs;
      if (on_batch && !on_batch(fraction)) throw TrainingCancelled();
    }
    last_epoch_loss = sum / double(seen);
  }
  return last_epoch_loss;
}

Evaluation evaluate(ImageClassifier& model, const ImageSet& data, int classes, int batch_size) {
  Evaluation e;
  if (data.count() == 0) {
    e.metrics = compute_classification_metrics({}, {}, classes);
    return e;
  }
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<std::size_t> order(data.count());
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> scores;
  scores.reserve(data.count() * std::size_t(classes));
  double loss_sum = 0;
  for (std::size_t begin = 0; begin < order.size(); begin += std::size_t(batch_size)) {
    const std::size_t end = std::min(order.size(), begin + std::size_t(batch_size));
    torch::Tensor logits = model.forward(batch_images(data, order, begin, end));
    torch::Tensor y = batch_labels(data, order, begin, end);
    loss_sum += torch::nn::functional::cross_entropy(
                    logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                    .item<double>();
    torch::Tensor p = torch::softmax(logits, 1).contiguous();
    scores.insert(scores.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  }
  e.loss = loss_sum / double(data.count());
  e.metrics = compute_classification_metrics(scores, data.labels, classes);
  return e;
}

}  // namespace fedxray

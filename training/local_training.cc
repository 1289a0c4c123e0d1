#include "training/local_training.h"

#include "privacy/dp/client_dp.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "base/error.h"
#include "training/label_loss.h"
#include "training/segmentation_metrics.h"
#include "training/trainer.h"

namespace fedxray {
namespace {

// Each image is standardised (zero mean, unit variance), so a site's scanner brightness and
// contrast do not become something the pooled model has to learn.
torch::Tensor batch_images(const ImageSet& data, const std::vector<std::size_t>& idx,
                           std::size_t begin, std::size_t end) {
  const int64_t s = data.image_size;
  const std::size_t n = std::size_t(s * s);
  torch::Tensor out = torch::empty({int64_t(end - begin), 1, s, s});
  float* dst = out.data_ptr<float>();
  for (std::size_t k = begin; k < end; ++k, dst += n) {
    std::copy(data.image(idx[k]), data.image(idx[k]) + n, dst);
    standardise(dst, n);
  }
  return out;
}

// What the loss compares a batch's logits with: its labels, or for segmentation its masks.
torch::Tensor batch_labels(const ImageSet& data, const std::vector<std::size_t>& idx,
                           std::size_t begin, std::size_t end) {
  const auto count = int64_t(end - begin);
  if (data.has_masks()) {
    const int64_t s = data.image_size;
    torch::Tensor out = torch::empty({count, s, s}, torch::kInt64);
    int64_t* dst = out.data_ptr<int64_t>();
    for (std::size_t k = begin; k < end; ++k, dst += s * s) {
      std::copy(data.mask(idx[k]), data.mask(idx[k]) + s * s, dst);
    }
    return out;
  }
  torch::Tensor out = torch::empty({count}, torch::kInt64);
  for (std::size_t k = begin; k < end; ++k) out[int64_t(k - begin)] = data.labels[idx[k]];
  return out;
}

// log(frequency of each class) in `data`, a class without images counted as one.
torch::Tensor log_label_prior(const ImageSet& data, int64_t classes) {
  std::vector<double> count(std::size_t(classes), 0.0);
  for (int64_t label : data.labels) {
    if (label >= 0 && label < classes) count[std::size_t(label)] += 1;
  }
  torch::Tensor prior = torch::empty({classes});
  for (int64_t c = 0; c < classes; ++c) {
    prior[c] = std::log(std::max(1.0, count[std::size_t(c)]) / double(data.count()));
  }
  return prior;
}

// The model's logits, plus `log_prior` when it is defined (logit adjustment).
torch::Tensor training_logits(ImageClassifier& model, const torch::Tensor& x,
                              const torch::Tensor& log_prior) {
  torch::Tensor logits = model.forward(x);
  return log_prior.defined() ? logits + log_prior : logits;
}

// Sets each parameter's .grad to the DP-SGD gradient of the batch; returns the mean loss.
torch::Tensor dp_sgd_gradients(ImageClassifier& model, const torch::Tensor& x, const torch::Tensor& y,
                               const torch::Tensor& log_prior, LabelTask task,
                               const TrainingOptions::DpSgd& dp) {
  std::vector<torch::Tensor> params;
  for (auto& p : model.parameters()) {
    if (p.requires_grad()) params.push_back(p);
  }
  std::vector<torch::Tensor> sum;
  for (auto& p : params) sum.push_back(torch::zeros_like(p));
  const int64_t n = x.size(0);
  double total_loss = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (auto& p : params) {
      if (p.grad().defined()) p.grad().zero_();
    }
    torch::Tensor loss =
        label_loss(task, training_logits(model, x.narrow(0, i, 1), log_prior), y.narrow(0, i, 1));
    loss.backward();
    total_loss += loss.item<double>();
    double squared = 0;
    for (auto& p : params) {
      if (p.grad().defined()) squared += p.grad().pow(2).sum().item<double>();
    }
    const double factor = std::min(1.0, dp.clip_norm / (std::sqrt(squared) + 1e-12));
    for (std::size_t k = 0; k < params.size(); ++k) {
      if (params[k].grad().defined()) sum[k].add_(params[k].grad(), factor);
    }
  }
  const double stddev = dp.noise_multiplier * dp.clip_norm;
  for (std::size_t k = 0; k < params.size(); ++k) {
    torch::Tensor noise = torch::zeros_like(sum[k]).contiguous();
    clip_and_add_noise(noise.data_ptr<float>(), std::size_t(noise.numel()), 1.0, stddev);
    params[k].mutable_grad() = (sum[k] + noise) / double(n);
  }
  return torch::tensor(total_loss / double(n));
}

// The task's scores of every image (label_scores), in order; adds the summed loss to *loss_sum
// when it is given.
std::vector<float> scores_of(ImageClassifier& model, const ImageSet& data, LabelTask task,
                             int batch_size, double* loss_sum) {
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<std::size_t> order(data.count());
  std::iota(order.begin(), order.end(), 0);
  std::vector<float> scores;
  for (std::size_t begin = 0; begin < order.size(); begin += std::size_t(batch_size)) {
    const std::size_t end = std::min(order.size(), begin + std::size_t(batch_size));
    torch::Tensor logits = model.forward(batch_images(data, order, begin, end));
    if (loss_sum) {
      *loss_sum += label_loss(task, logits, batch_labels(data, order, begin, end), /*sum=*/true)
                       .item<double>();
    }
    torch::Tensor p = label_scores(task, logits).contiguous();
    scores.insert(scores.end(), p.data_ptr<float>(), p.data_ptr<float>() + p.numel());
  }
  return scores;
}

// Per-pixel predictions (the most probable class of each pixel's scores) compared with the masks.
Evaluation evaluate_segmentation(ImageClassifier& model, const ImageSet& data, int classes,
                                 int batch_size) {
  if (data.count() > 0 && !data.has_masks()) throw Error("segmentation: the images have no masks");
  Evaluation e;
  double loss_sum = 0;
  const std::vector<float> scores =
      scores_of(model, data, LabelTask::segmentation, batch_size, &loss_sum);
  const std::size_t n = std::size_t(data.image_size) * std::size_t(data.image_size);
  std::vector<uint8_t> predicted(data.count() * n, 0);
  for (std::size_t image = 0; image < data.count(); ++image) {
    const float* p = scores.data() + image * std::size_t(classes) * n;  // [classes, S, S]
    for (std::size_t i = 0; i < n; ++i) {
      for (int c = 1; c < classes; ++c) {
        if (p[std::size_t(c) * n + i] > p[std::size_t(predicted[image * n + i]) * n + i]) {
          predicted[image * n + i] = uint8_t(c);
        }
      }
    }
  }
  e.loss = data.count() > 0 ? loss_sum / double(data.count()) : 0.0;
  e.metrics = compute_segmentation_metrics(predicted, data.masks, classes, data.image_size);
  return e;
}

}  // namespace

double scheduled_learning_rate(const TrainingOptions& o, int e) {
  if (o.schedule_epochs <= 0) return o.learning_rate;
  const double g = std::min(1.0, double(o.first_epoch + e) / double(o.schedule_epochs));
  return o.learning_rate * 0.5 * (1.0 + std::cos(M_PI * g));
}

double train_epochs(ImageClassifier& model, const ImageSet& data, const TrainingOptions& o,
                    const std::function<bool(double)>& on_batch) {
  if (data.count() == 0) throw Error("no training images");
  model.train();
  std::vector<torch::Tensor> trained = model.parameters();
  if (o.head_only) {
    const auto children = model.children();
    if (children.empty()) throw Error("head_only: the model has no layers to pick a head from");
    trained = children.back()->parameters();
    // The body is frozen: evaluation mode, so its batch-norm running statistics stay as well.
    for (std::size_t i = 0; i + 1 < children.size(); ++i) children[i]->eval();
  }
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (o.optimizer == "adam") {
    optimizer = std::make_unique<torch::optim::Adam>(trained,
                                                     torch::optim::AdamOptions(o.learning_rate));
  } else {
    optimizer = std::make_unique<torch::optim::SGD>(
        trained, torch::optim::SGDOptions(o.learning_rate).momentum(o.momentum));
  }
  if (o.optimizer_state && !o.optimizer_state->empty()) {
    std::istringstream in(*o.optimizer_state);
    torch::serialize::InputArchive archive;
    archive.load_from(in);
    optimizer->load(archive);
  }
  std::vector<torch::Tensor> start;  // w_start (or the anchor), for the proximal term
  if (o.proximal_mu > 0 && o.proximal_anchor) {
    start = *o.proximal_anchor;
    if (start.size() != model.parameters().size()) {
      throw Error("proximal anchor has " + std::to_string(start.size()) + " tensors, the model " +
                  std::to_string(model.parameters().size()));
    }
  } else if (o.proximal_mu > 0) {
    for (auto& p : model.parameters()) start.push_back(p.detach().clone());
  }
  const std::size_t parameters = model.parameters().size();
  if (o.gradient_correction && o.gradient_correction->size() != parameters) {
    throw Error("gradient correction has " + std::to_string(o.gradient_correction->size()) +
                " tensors, the model " + std::to_string(parameters));
  }
  if (o.mean_gradient) {
    o.mean_gradient->clear();
    for (auto& p : model.parameters()) o.mean_gradient->push_back(torch::zeros_like(p));
  }
  const torch::Tensor log_prior =
      o.logit_adjustment ? log_label_prior(data, o.classes) : torch::Tensor();
  BatchPipeline pipeline(data, o.batch_size, o.epochs, o.seed, o.augmentation, o.loader_threads);
  const int64_t s = data.image_size;
  double sum = 0;
  std::size_t seen = 0, batches = 0;
  Batch batch;
  while (pipeline.next(batch)) {
    if (batches % pipeline.batches_per_epoch() == 0) {  // a new epoch; report the last one
      sum = 0, seen = 0;
      const double lr = scheduled_learning_rate(o, int(batches / pipeline.batches_per_epoch()));
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
    }
    ++batches;
    torch::Tensor x = torch::from_blob(batch.pixels.data(), {int64_t(batch.count), 1, s, s});
    torch::Tensor y =
        o.task == LabelTask::segmentation
            ? torch::from_blob(batch.masks.data(), {int64_t(batch.count), s, s}, torch::kInt64)
            : torch::from_blob(batch.labels.data(), {int64_t(batch.count)}, torch::kInt64);
    model.zero_grad();  // every parameter's: with head_only the frozen ones' too
    torch::Tensor loss;
    if (o.dp_sgd.enabled) {
      loss = dp_sgd_gradients(model, x, y, log_prior, o.task, o.dp_sgd);
    } else {
      loss = label_loss(o.task, training_logits(model, x, log_prior), y);
      loss.backward();
    }
    if (o.mean_gradient || o.gradient_correction) {
      torch::NoGradGuard no_grad;
      std::size_t k = 0;
      for (auto& p : model.parameters()) {
        if (o.mean_gradient && p.grad().defined()) (*o.mean_gradient)[k].add_(p.grad());
        if (o.gradient_correction && p.grad().defined()) {
          p.mutable_grad().add_((*o.gradient_correction)[k]);
        }
        ++k;
      }
    }
    if (!start.empty()) {  // the gradient of (mu / 2) ||w - w_start||^2
      torch::NoGradGuard no_grad;
      std::size_t k = 0;
      for (auto& p : model.parameters()) {
        if (p.grad().defined()) p.mutable_grad().add_(p.detach() - start[k], o.proximal_mu);
        ++k;
      }
    }
    optimizer->step();
    sum += loss.item<double>() * double(batch.count);
    seen += batch.count;
    if (on_batch && !on_batch(batch.fraction_done)) throw TrainingCancelled();
  }
  if (o.mean_gradient && batches > 0) {
    for (auto& g : *o.mean_gradient) g.div_(double(batches));
  }
  if (o.optimizer_state) {
    torch::serialize::OutputArchive archive;
    optimizer->save(archive);
    std::ostringstream out;
    archive.save_to(out);
    *o.optimizer_state = out.str();
  }
  return seen ? sum / double(seen) : 0.0;
}

Evaluation evaluate(ImageClassifier& model, const ImageSet& data, LabelTask task, int classes,
                    int batch_size) {
  if (task == LabelTask::segmentation) return evaluate_segmentation(model, data, classes, batch_size);
  Evaluation e;
  double loss_sum = 0;
  const std::vector<float> scores = scores_of(model, data, task, batch_size, &loss_sum);
  e.loss = data.count() > 0 ? loss_sum / double(data.count()) : 0.0;
  e.metrics = compute_task_metrics(task, scores, data.labels, classes);
  return e;
}

std::vector<float> predict(ImageClassifier& model, const ImageSet& data, LabelTask task,
                           int batch_size) {
  return scores_of(model, data, task, batch_size, nullptr);
}

}  // namespace fedxray

// SCAFFOLD and FedBN at the site, with LibTorch: the corrected step and the new control against
// the same quantities worked out another way, and a FedBN site keeping its batch-norm layers.
#include "base/atomic_file.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "site-agent/filters/standard_filters.h"
#include "tests/test_support.h"
#include "tests/tiny_training.h"
#include "training/batch_pipeline.h"
#include "training/scaffold_site_control.h"
#include "training/torch_trainer.h"
#include "wire/model_file.h"
#include "wire/scaffold_controls.h"
#include "wire/update_layout.h"

#include <cstring>
#include <filesystem>
#include "tests/catch_after_torch.h"  // last: see the header

using namespace fedxray;
using namespace fedxray::testing;

namespace {

// Sets every element of `blob`'s float tensors whose names satisfy `pick` to value(k), k counting
// elements over those tensors.
template <typename Pick, typename Value>
void fill(ModelBlob& blob, Pick pick, Value value) {
  std::size_t k = 0;
  for (const auto& t : blob.manifest.tensors()) {
    if (!pick(t.name()) || t.dtype() != wire::FLOAT32) continue;
    for (uint64_t i = 0; i < t.nbytes() / 4; ++i, ++k) {
      const float v = value(k);
      std::memcpy(blob.bytes.data() + t.offset() + 4 * i, &v, 4);
    }
  }
  blob.seal();
}

std::vector<float> floats_of(const ModelBlob& blob, bool controls) {
  std::vector<float> out;
  for (const auto& t : blob.manifest.tensors()) {
    if (is_scaffold_control(t.name()) != controls || t.dtype() != wire::FLOAT32) continue;
    const std::size_t at = out.size();
    out.resize(at + t.nbytes() / 4);
    std::memcpy(out.data() + at, blob.bytes.data() + t.offset(), t.nbytes());
  }
  return out;
}

const auto go = [](const std::string&, double) { return true; };

}  // namespace

TEST_CASE(
    "a SCAFFOLD site steps on its gradient plus c minus c_i and with plain SGD its new control is "
    "option II",
    "[scaffold]") {
  const ImageSet data = tiny_images(8);
  const ModelSpec spec{"cnn-small", 2, 16, 3};
  auto start = create_model(spec);
  ModelBlob global = with_zero_scaffold_controls(export_weights(*start, spec));
  // A server control c and a site control c_i that differ, so the correction is not zero.
  fill(global, is_scaffold_control, [](std::size_t k) { return 0.01f * float(int(k % 5) - 2); });
  ModelBlob kept = global;
  fill(kept, is_scaffold_control, [](std::size_t k) { return 0.02f * float(int(k % 3) - 1); });
  const std::vector<float> x = floats_of(global, false);
  const std::vector<float> c = floats_of(global, true), ci = floats_of(kept, true);

  // Two full-batch plain-SGD steps (K = 2, eta = 0.1) through train_epochs.
  const double eta = 0.1;
  TrainingOptions o = full_batch_sgd(eta);
  o.epochs = 2;
  auto model = model_from_blob(global);
  ScaffoldSiteControl control(*model, global, kept);
  o.gradient_correction = control.correction();
  o.mean_gradient = control.mean_gradient();
  train_epochs(*model, data, o);
  const ModelBlob update = control.update(*model, spec, global);
  REQUIRE(layout_difference(global.manifest, update.manifest).empty());
  const std::vector<float> y = floats_of(update, false);
  const std::vector<float> ci_new = floats_of(control.site_control(global), true);

  // The same steps by hand: w <- w - eta (grad + c - c_i), the gradient of the plain loss.
  auto by_hand = model_from_blob(global);
  std::vector<float> grad_sum(x.size(), 0.0f);
  for (int step = 0; step < 2; ++step) {
    by_hand->train();
    by_hand->zero_grad();
    std::vector<float> pixels = data.pixels;  // standardised per image, as training does
    for (int i = 0; i < 8; ++i) standardise(pixels.data() + 256 * i, 256);
    torch::Tensor images = torch::from_blob(pixels.data(), {8, 1, 16, 16});
    torch::Tensor labels =
        torch::tensor(std::vector<int64_t>(data.labels.begin(), data.labels.end()));
    torch::nn::functional::cross_entropy(by_hand->forward(images), labels).backward();
    torch::NoGradGuard no_grad;
    std::size_t k = 0;
    for (auto& p : by_hand->parameters()) {
      torch::Tensor g = p.grad().flatten().contiguous();
      torch::Tensor flat = p.view({-1});
      for (int64_t i = 0; i < g.numel(); ++i, ++k) {
        grad_sum[k] += g.data_ptr<float>()[i];
        flat[i] -= eta * (double(g.data_ptr<float>()[i]) + c[k] - ci[k]);
      }
    }
  }
  const std::vector<float> y_by_hand = weights_of(*by_hand);
  REQUIRE(y.size() == y_by_hand.size());
  double worst_step = 0, worst_control = 0, worst_mean = 0;
  for (std::size_t k = 0; k < y.size(); ++k) {
    worst_step = std::max(worst_step, std::abs(double(y[k]) - y_by_hand[k]));
    // Option II: c_i' = c_i - c + (x - y) / (K eta).
    const double option_two = double(ci[k]) - c[k] + (double(x[k]) - y[k]) / (2 * eta);
    worst_control = std::max(worst_control, std::abs(ci_new[k] - option_two));
    worst_mean = std::max(worst_mean, std::abs(double(ci_new[k]) - grad_sum[k] / 2.0));
  }
  INFO("step " << worst_step << ", option II " << worst_control << ", mean " << worst_mean);
  CHECK(worst_step < 1e-5);
  CHECK(worst_control < 1e-3);  // (x - y) / 0.2 magnifies float rounding of the weights
  CHECK(worst_mean < 1e-5);
  // What leaves the site in the control tensors: c + (c_i' - c_i).
  const std::vector<float> sent = floats_of(update, true);
  for (std::size_t k = 0; k < sent.size(); ++k) {
    REQUIRE(sent[k] == Approx(double(c[k]) + ci_new[k] - ci[k]).margin(1e-6));
  }
}

TEST_CASE("a SCAFFOLD site trainer keeps its control between rounds and across a restart",
          "[scaffold]") {
  TempDir dir;
  TrainHeldOut split{tiny_images(24), tiny_images(8)};
  const ModelSpec spec{"cnn-small", 2, 16, 3};
  const ModelBlob global = with_zero_scaffold_controls(export_weights(*create_model(spec), spec));
  wire::JobSpec job = tiny_job("sgd", 0.1, 3);
  job.set_scaffold(true);
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  trainer.set_personal_model_dir(dir.path);
  const TrainingResult r1 = trainer.train(job, 1, global, go);
  CHECK(layout_difference(global.manifest, r1.model.manifest).empty());
  const std::string file = dir.path + "/j.scaffold-control.fxm";
  // The new control is kept only once the coordinator has the update that matches it.
  CHECK_FALSE(std::filesystem::exists(file));
  trainer.round_uploaded("j", 1);
  REQUIRE(std::filesystem::exists(file));
  // Round 1 starts from c_i = 0 and c = 0: the control sent is c_i' itself.
  CHECK(floats_of(r1.model, true) == floats_of(read_model_file(file), true));
  // A restarted agent (a new trainer) picks c_i up from the file: its round 2 equals the
  // round 2 of the trainer that never stopped; one without the file does not.
  TempDir other;
  std::filesystem::copy_file(file, other.path + "/j.scaffold-control.fxm");  // c_i after round 1
  const TrainingResult kept = trainer.train(job, 2, global, go);
  // Round 2 was never uploaded: running it again starts from the same control, so it ends the same.
  CHECK(trainer.train(job, 2, global, go).model.bytes == kept.model.bytes);
  TorchTrainer restarted(std::make_shared<InMemoryDataSource>(split));
  restarted.set_personal_model_dir(other.path);
  const TrainingResult resumed = restarted.train(job, 2, global, go);
  CHECK(resumed.model.bytes == kept.model.bytes);
  TorchTrainer forgetful(std::make_shared<InMemoryDataSource>(split));
  CHECK(forgetful.train(job, 2, global, go).model.bytes != kept.model.bytes);
  // A global model without controls is refused with the reason.
  TorchTrainer plain(std::make_shared<InMemoryDataSource>(split));
  CHECK_THROWS_WITH(plain.train(job, 1, export_weights(*create_model(spec), spec), go),
                    Catch::Contains("has no control for parameter"));
}

TEST_CASE("a FedBN site trains with its own batch-norm layers and never sends them", "[fedbn]") {
  TempDir dir;
  TrainHeldOut split{tiny_images(24), tiny_images(8)};
  const ModelSpec spec{"cnn-small-bn", 2, 16, 3};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  const std::set<std::string> norm = normalization_tensors(global.manifest);
  REQUIRE(norm.size() == 15);  // bn1..bn3: weight, bias, running mean and variance, counter
  wire::JobSpec job = tiny_job("sgd", 0.1, 3);
  job.set_model("cnn-small-bn");
  job.mutable_fedbn()->set_enabled(true);
  job.mutable_fedbn()->set_pooled_statistics("site-average");
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  trainer.set_personal_model_dir(dir.path);
  trainer.train(job, 1, global, go);
  const std::string file = dir.path + "/j.batch-norm.fxm";
  REQUIRE(std::filesystem::exists(file));
  const ModelBlob mine = read_model_file(file);
  CHECK(mine.manifest.tensors_size() == 15);
  // Round 2's global model arrives with batch-norm scales of 0, which would zero every
  // activation. The site uses its own layers instead, so it still learns and its kept layers
  // carry on from round 1's, not from the zeros.
  ModelBlob zeroed = global;
  fill(
      zeroed,
      [&](const std::string& n) { return norm.count(n) && n.find(".weight") != std::string::npos; },
      [](std::size_t) { return 0.0f; });
  TrainingResult r2 = trainer.train(job, 2, zeroed, go);
  // What the site evaluated as "the global model" is the global weights with its own layers.
  auto with_mine = model_from_blob(zeroed);
  import_some_weights(*with_mine, mine);
  const Evaluation expected = evaluate(*with_mine, split.held_out, LabelTask::classification, 2);
  CHECK(r2.metrics.global_held_out_loss() == Approx(expected.loss).epsilon(1e-5));
  CHECK(evaluate(*model_from_blob(zeroed), split.held_out, LabelTask::classification, 2).loss !=
        Approx(expected.loss).epsilon(1e-3));
  const ModelBlob mine2 = read_model_file(file);
  const ModelBlob bn_weights = restrict_to(mine2, normalization_layout(global.manifest));
  std::vector<float> w(16);
  std::memcpy(w.data(), bn_weights.bytes.data() + bn_weights.manifest.tensors(0).offset(), 64);
  for (float v : w) CHECK(std::abs(v) > 0.5f);  // near 1, never near the global 0
  // The filter sends the update without them.
  KeepBatchNormLocalFilter filter;
  const FilterRound round{job, 2, 24};
  filter.apply(round, zeroed, r2);
  for (const auto& t : r2.model.manifest.tensors()) CHECK(norm.count(t.name()) == 0);
  CHECK(r2.model.manifest.total_bytes() < global.manifest.total_bytes());
}

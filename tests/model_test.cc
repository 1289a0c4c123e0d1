// The model registry: cnn-small is small, seeded, and survives the torch <-> wire bridge.
#include "base/error.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "models/torchscript_model.h"
#include "data/data_source.h"
#include "training/local_training.h"
#include "training/torch_trainer.h"
#include "tests/test_support.h"
#include "tests/tiny_training.h"

#include <cmath>
#include <cstdlib>
#include "tests/catch_after_torch.h"  // last: see the header
#include "tests/skip_test.h"  // after Catch

using namespace fedxray;
using namespace fedxray::testing;

TEST_CASE("cnn-small has under 100k parameters and maps images to class logits", "[models]") {
  auto model = create_model({"cnn-small", 5, 48, 1});
  CHECK(parameter_count(*model) < 100000);
  CHECK(parameter_count(*model) > 1000);
  torch::Tensor logits = model->forward(torch::zeros({3, 1, 48, 48}));
  CHECK(logits.sizes() == torch::IntArrayRef({3, 5}));
}

TEST_CASE("the same seed gives identical initial weights, another seed different ones", "[models]") {
  ModelSpec spec{"cnn-small", 3, 32, 42};
  ModelBlob a = export_weights(*create_model(spec), spec);
  ModelBlob b = export_weights(*create_model(spec), spec);
  spec.seed = 43;
  ModelBlob c = export_weights(*create_model(spec), spec);
  CHECK(a.manifest.sha256() == b.manifest.sha256());
  CHECK(a.bytes == b.bytes);
  CHECK(a.bytes != c.bytes);
}

TEST_CASE("weights exported to the wire form load back into an equal model", "[models]") {
  ModelSpec spec{"cnn-small", 3, 32, 7};
  auto original = create_model(spec);
  ModelBlob blob = export_weights(*original, spec);
  CHECK(blob.manifest.model() == "cnn-small");
  CHECK(blob.manifest.tensors(0).name() == "conv1.weight");
  auto copy = model_from_blob(blob);
  torch::Tensor x = torch::randn({2, 1, 32, 32});
  CHECK(torch::allclose(original->forward(x), copy->forward(x)));
}

TEST_CASE("resnet18 and densenet121 have their published sizes and classify 1-channel images",
          "[models]") {
  // torchvision's counts for 3-channel input and 1000 classes are 11,689,512 and 7,978,856;
  // a 1-channel stem and a 2-class head remove 2*64*49 and 998*(512+1) resp. 998*(1024+1).
  auto resnet = create_model({"resnet18", 2, 64, 1});
  CHECK(parameter_count(*resnet) == 11689512 - 2 * 64 * 49 - 998 * 513);
  CHECK(resnet->forward(torch::zeros({2, 1, 64, 64})).sizes() == torch::IntArrayRef({2, 2}));
  auto densenet = create_model({"densenet121", 2, 64, 1});
  CHECK(parameter_count(*densenet) == 7978856 - 2 * 64 * 49 - 998 * 1025);
  densenet->eval();
  CHECK(densenet->forward(torch::zeros({1, 1, 64, 64})).sizes() == torch::IntArrayRef({1, 2}));
}

TEST_CASE("batch-norm running statistics travel with the weights", "[models]") {
  ModelSpec spec{"resnet18", 2, 32, 5};
  auto model = create_model(spec);
  model->train();
  model->forward(torch::randn({4, 1, 32, 32}));  // updates running stats and the counter
  ModelBlob blob = export_weights(*model, spec);
  bool has_counter = false;
  for (const auto& t : blob.manifest.tensors()) {
    has_counter |= t.name().find("num_batches_tracked") != std::string::npos && t.dtype() == wire::INT64;
  }
  CHECK(has_counter);
  auto copy = model_from_blob(blob);
  model->eval();
  copy->eval();
  torch::Tensor x = torch::randn({2, 1, 32, 32});
  CHECK(torch::allclose(model->forward(x), copy->forward(x)));
}

TEST_CASE("TorchScript export gives the same outputs", "[models][torchscript]") {
  testing::TempDir dir;
  for (std::string name : {"cnn-small", "resnet18"}) {
    INFO(name);
    ModelSpec spec{name, 3, 32, 7};
    auto model = create_model(spec);
    model->train();
    model->forward(torch::randn({4, 1, 32, 32}));  // non-trivial batch-norm statistics
    ModelBlob blob = export_weights(*model, spec);
    const std::string path = dir.path + "/" + name + ".pt";
    export_torchscript(blob, path);
    LoadedTorchScript loaded = load_torchscript(path);
    CHECK(loaded.classes == 3);
    CHECK(loaded.image_size == 32);
    model->eval();
    torch::Tensor x = torch::randn({2, 1, 32, 32});
    CHECK(torch::allclose(model->forward(x), loaded.model->forward(x), 1e-5, 1e-6));
  }
}

TEST_CASE("an exported TorchScript model loads in Python's torch", "[models][torchscript]") {
  if (std::system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
    FEDXRAY_SKIP("python3-torch is not installed (apt-get install python3-torch)");
  }
  testing::TempDir dir;
  for (std::string name : {"cnn-small", "resnet18"}) {
    INFO(name);
    ModelSpec spec{name, 3, 32, 7};
    const std::string path = dir.path + "/" + name + ".pt";
    export_torchscript(export_weights(*create_model(spec), spec), path);
    const std::string cmd = "/usr/bin/python3 -c \"import torch; m = torch.jit.load('" + path +
                            "'); assert tuple(m(torch.zeros(1, 1, 32, 32)).shape) == (1, 3)\"";
    CHECK(std::system(cmd.c_str()) == 0);
  }
}

TEST_CASE("loading weights of another shape names the tensor", "[models]") {
  ModelSpec three{"cnn-small", 3, 32, 7}, four{"cnn-small", 4, 32, 7};
  ModelBlob blob = export_weights(*create_model(three), three);
  auto other = create_model(four);
  CHECK_THROWS_WITH(import_weights(*other, blob), Catch::Contains("head.weight"));
  CHECK_THROWS_WITH(create_model({"resnet-9000", 3, 32, 1}), Catch::Contains("cnn-small"));
}

TEST_CASE("DP-SGD clips each example's gradient and adds noise to the batch", "[models][dp-sgd]") {
  torch::manual_seed(1);
  ImageSet data;
  data.image_size = 16;
  for (int i = 0; i < 8; ++i) {
    for (int p = 0; p < 256; ++p) data.pixels.push_back(float((p * 7 + i * 13) % 17) / 16.0f);
    data.labels.push_back(i % 2);
  }
  ModelSpec spec{"cnn-small", 2, 16, 3};
  auto before = create_model(spec);
  auto flat = [](ImageClassifier& m) {
    std::vector<torch::Tensor> parts;
    for (auto& p : m.parameters()) parts.push_back(p.detach().flatten().clone());
    return torch::cat(parts);
  };
  const torch::Tensor w0 = flat(*before);
  TrainingOptions o;
  o.epochs = 1;
  o.batch_size = 8;  // one step
  o.optimizer = "sgd";
  o.learning_rate = 1.0;
  o.momentum = 0.0;
  o.dp_sgd.enabled = true;
  o.dp_sgd.clip_norm = 0.01;
  o.dp_sgd.noise_multiplier = 1e-6;  // nearly no noise: the step is the mean clipped gradient
  auto clipped = create_model(spec);
  train_epochs(*clipped, data, o);
  const double step = (flat(*clipped) - w0).norm().item<double>();
  CHECK(step <= 0.01 * 1.0001);  // lr x mean of gradients each at most clip_norm
  CHECK(step > 0.001);           // and the examples' gradients did move the model
  // With noise: the step is dominated by N(0, (z C)^2) / batch per coordinate.
  o.dp_sgd.noise_multiplier = 10.0;
  auto noisy = create_model(spec);
  train_epochs(*noisy, data, o);
  const torch::Tensor d = flat(*noisy) - w0;
  const double per_coordinate = (d.std().item<double>());
  CHECK(per_coordinate == Approx(10.0 * 0.01 / 8).epsilon(0.1));
}


TEST_CASE("cosine schedule: each epoch's rate, and training uses it", "[models][schedule]") {
  TrainingOptions o;
  o.learning_rate = 0.4;
  CHECK(scheduled_learning_rate(o, 7) == 0.4);  // no schedule: constant
  o.schedule_epochs = 4;
  CHECK(scheduled_learning_rate(o, 0) == Approx(0.4));
  CHECK(scheduled_learning_rate(o, 1) == Approx(0.4 * (1 + std::sqrt(0.5)) / 2));
  CHECK(scheduled_learning_rate(o, 2) == Approx(0.2));
  o.first_epoch = 2;  // a later round continues the same decay
  CHECK(scheduled_learning_rate(o, 1) == Approx(0.4 * (1 - std::sqrt(0.5)) / 2));
  CHECK(scheduled_learning_rate(o, 2) == Approx(0.0).margin(1e-12));

  // One full-batch SGD step per epoch: epoch 1 of 2 under the schedule is the step of a constant
  // rate of half the base; the last epoch of the schedule (rate 0) leaves the model unchanged.
  const ImageSet data = tiny_images(8);
  ModelSpec spec{"cnn-small", 2, 16, 3};
  TrainingOptions sgd = full_batch_sgd(1.0);
  sgd.schedule_epochs = 2;
  sgd.first_epoch = 1;
  auto scheduled = create_model(spec);
  train_epochs(*scheduled, data, sgd);
  TrainingOptions half = sgd;
  half.schedule_epochs = 0;
  half.learning_rate = 0.5;
  auto constant = create_model(spec);
  train_epochs(*constant, data, half);
  const std::vector<float> initial = weights_of(*create_model(spec));
  CHECK(weights_of(*scheduled) == weights_of(*constant));
  CHECK(weights_of(*scheduled) != initial);
  sgd.first_epoch = 2;
  auto finished = create_model(spec);
  train_epochs(*finished, data, sgd);
  CHECK(weights_of(*finished) == initial);
}

TEST_CASE("a site's training differs from round to round and repeats within a round",
          "[models][schedule]") {
  TrainHeldOut split{tiny_images(40), tiny_images(6)};
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  ModelSpec spec{"cnn-small", 2, 16, 3};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  wire::JobSpec job = tiny_job("sgd", 0.1, 4);  // 40 images: 5 batches, ordered by the round
  auto go = [](const std::string&, double) { return true; };
  const ModelBlob round1 = trainer.train(job, 1, global, go).model;
  CHECK(trainer.train(job, 1, global, go).model.bytes == round1.bytes);
  CHECK(trainer.train(job, 2, global, go).model.bytes != round1.bytes);
  // Cosine over 4 rounds x 1 epoch: round 4 trains at rate 0.1 x (1 + cos(3 pi / 4)) / 2.
  job.set_learning_rate_schedule("cosine");
  const ModelBlob late = trainer.train(job, 4, global, go).model;
  job.set_learning_rate_schedule("constant");
  job.set_learning_rate(0.1 * 0.5 * (1.0 + std::cos(M_PI * 0.75)));
  CHECK(trainer.train(job, 4, global, go).model.bytes == late.bytes);
}

TEST_CASE("keep_optimizer_state carries a site's Adam moments into its next round",
          "[models][schedule]") {
  TrainHeldOut split{tiny_images(24), tiny_images(6)};
  ModelSpec spec{"cnn-small", 2, 16, 3};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  wire::JobSpec job = tiny_job("adam", 0.01, 3);
  auto go = [](const std::string&, double) { return true; };
  TorchTrainer fresh(std::make_shared<InMemoryDataSource>(split));
  const ModelBlob reset = fresh.train(job, 2, global, go).model;
  job.set_keep_optimizer_state(true);
  TorchTrainer first_round(std::make_shared<InMemoryDataSource>(split));
  // Without a previous round there is no state to carry: the same as starting afresh.
  CHECK(first_round.train(job, 2, global, go).model.bytes == reset.bytes);
  TorchTrainer kept(std::make_shared<InMemoryDataSource>(split));
  kept.train(job, 1, global, go);
  CHECK(kept.train(job, 2, global, go).model.bytes != reset.bytes);
  // Another job on the same site starts afresh.
  job.set_job_id("k");
  CHECK(kept.train(job, 2, global, go).model.bytes == reset.bytes);
}

TEST_CASE("a trainer keeps nothing for a job once it has ended", "[models][schedule]") {
  TrainHeldOut split{tiny_images(24), tiny_images(6)};
  ModelSpec spec{"cnn-small", 2, 16, 3};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  wire::JobSpec job = tiny_job("adam", 0.01, 3);
  job.set_keep_optimizer_state(true);
  auto go = [](const std::string&, double) { return true; };
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  const ModelBlob first = trainer.train(job, 1, global, go).model;
  CHECK(trainer.jobs_kept() == 1);
  CHECK(trainer.splits_kept() == 1);
  trainer.end_job("j");
  CHECK(trainer.jobs_kept() == 0);
  CHECK(trainer.splits_kept() == 0);
  // A later job of the same name starts afresh: no Adam moments from the ended one.
  CHECK(trainer.train(job, 1, global, go).model.bytes == first.bytes);
}

TEST_CASE("FedProx adds mu (w - w_start) to every gradient", "[models][schedule]") {
  // Two full-batch SGD steps. The proximal gradient is zero at the start, so both runs take the
  // same first step w1; the second step differs by exactly lr x mu x (w1 - w0).
  const ImageSet data = tiny_images(8);
  ModelSpec spec{"cnn-small", 2, 16, 3};
  TrainingOptions o = full_batch_sgd(0.1);
  const std::vector<float> w0 = weights_of(*create_model(spec));
  auto one_step = create_model(spec);
  train_epochs(*one_step, data, o);
  const std::vector<float> w1 = weights_of(*one_step);
  o.epochs = 2;
  auto plain = create_model(spec);
  train_epochs(*plain, data, o);
  o.proximal_mu = 2.0;
  auto proximal = create_model(spec);
  train_epochs(*proximal, data, o);
  const std::vector<float> a = weights_of(*plain), b = weights_of(*proximal);
  REQUIRE(a.size() == w0.size());
  double moved = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double expected = double(a[i]) - 0.1 * 2.0 * (double(w1[i]) - double(w0[i]));
    REQUIRE(double(b[i]) == Approx(expected).margin(1e-6));
    moved = std::max(moved, std::abs(double(w1[i]) - double(w0[i])));
  }
  CHECK(moved > 1e-3);  // the first step moved the weights, so the check above had teeth
}

TEST_CASE("logit adjustment trains as if the head's bias held log(label frequency)",
          "[models][schedule]") {
  // 6 of 8 images are class 0: prior (0.75, 0.25). A model trained with the adjustment takes the
  // same SGD step as an unadjusted model whose output bias is shifted by log(prior).
  ImageSet data = tiny_images(8);
  for (int i = 0; i < 8; ++i) data.labels[std::size_t(i)] = i < 6 ? 0 : 1;
  ModelSpec spec{"cnn-small", 2, 16, 3};
  TrainingOptions o = full_batch_sgd(0.5);
  o.classes = 2;
  o.logit_adjustment = true;
  auto adjusted = create_model(spec);
  train_epochs(*adjusted, data, o);
  auto shifted = create_model(spec);
  const std::vector<double> log_prior = {std::log(0.75), std::log(0.25)};
  auto bias_of = [](ImageClassifier& m) { return m.named_parameters()["head.bias"]; };
  {
    torch::NoGradGuard no_grad;
    bias_of(*shifted)[0] += log_prior[0];
    bias_of(*shifted)[1] += log_prior[1];
  }
  o.logit_adjustment = false;
  train_epochs(*shifted, data, o);
  {
    torch::NoGradGuard no_grad;
    bias_of(*shifted)[0] -= log_prior[0];
    bias_of(*shifted)[1] -= log_prior[1];
  }
  const std::vector<float> a = weights_of(*adjusted), b = weights_of(*shifted);
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) REQUIRE(a[i] == Approx(b[i]).margin(1e-6));
  // And the adjustment does change training (the test above is not vacuous).
  auto plain = create_model(spec);
  train_epochs(*plain, data, o);
  CHECK(weights_of(*plain) != a);
}

// Personalised models at a site: fine-tuning (whole model or head only) and Ditto, each against
// what it must do by construction; the site trainer keeping, reporting and writing the model.
#include "training/personalization.h"
#include "base/atomic_file.h"
#include "config/job_config.h"
#include "config/site_policy.h"
#include "models/model_registry.h"
#include "models/model_weights.h"
#include "tests/coordinator_fixture.h"
#include "tests/test_support.h"
#include "tests/tiny_training.h"
#include "training/torch_trainer.h"
#include "wire/model_file.h"

#include <cmath>
#include <filesystem>
#include "tests/catch_after_torch.h"  // last: see the header

using namespace fedxray;
using namespace fedxray::testing;

namespace {

// Parameters of cnn-small's "head" (its last layer) and of everything before it, flattened.
std::pair<std::vector<float>, std::vector<float>> body_and_head(ImageClassifier& m) {
  std::vector<float> body, head;
  for (const auto& p : m.named_parameters()) {
    torch::Tensor t = p.value().detach().flatten().contiguous();
    auto& out = p.key().rfind("head.", 0) == 0 ? head : body;
    out.insert(out.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
  }
  return {body, head};
}

double distance(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.size(); ++i) sum += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(sum);
}

}  // namespace

TEST_CASE("fine-tuning the head only leaves every other layer bit-identical", "[personal]") {
  const ImageSet data = tiny_images(16);
  ModelSpec spec{"cnn-small", 2, 16, 3};
  auto global = create_model(spec);
  auto personal = create_model(spec);
  PersonalizationOptions p;
  p.method = "finetune";
  p.epochs = 2;
  p.head_only = true;
  personalise(*personal, *global, data, full_batch_sgd(0.5), p);
  const auto [g_body, g_head] = body_and_head(*global);
  const auto [p_body, p_head] = body_and_head(*personal);
  CHECK(p_body == g_body);
  CHECK(distance(p_head, g_head) > 1e-4);
  p.head_only = false;  // the whole model moves
  auto whole = create_model(spec);
  personalise(*whole, *global, data, full_batch_sgd(0.5), p);
  CHECK(distance(body_and_head(*whole).first, g_body) > 1e-4);
}

TEST_CASE("head-only fine-tuning also keeps the body's batch-norm statistics", "[personal]") {
  const ImageSet data = tiny_images(8);
  ModelSpec spec{"resnet18", 2, 16, 3};
  auto global = create_model(spec);
  auto personal = create_model(spec);
  PersonalizationOptions p{"finetune", 1, true, 0.0};
  personalise(*personal, *global, data, full_batch_sgd(0.5), p);
  auto buffers = [](ImageClassifier& m) {
    std::vector<float> out;
    for (const auto& b : m.named_buffers()) {
      torch::Tensor t = b.value().detach().to(torch::kFloat32).flatten().contiguous();
      out.insert(out.end(), t.data_ptr<float>(), t.data_ptr<float>() + t.numel());
    }
    return out;
  };
  CHECK(buffers(*personal) == buffers(*global));
  CHECK(weights_of(*personal) != weights_of(*global));  // the head did train
}

TEST_CASE("Ditto's pull towards the global model is the proximal step towards it", "[personal]") {
  // One full-batch SGD step from a personal model v0 that is not the global model w. Ditto's
  // gradient adds lambda (v - w), so the step differs from plain fine-tuning by exactly
  // lr x lambda x (v0 - w), and ends nearer w.
  const ImageSet data = tiny_images(8);
  auto global = create_model(ModelSpec{"cnn-small", 2, 16, 3});
  auto start = create_model(ModelSpec{"cnn-small", 2, 16, 4});  // another seed: v0 != w
  const std::vector<float> w = weights_of(*global), v0 = weights_of(*start);
  TrainingOptions o = full_batch_sgd(0.1);
  PersonalizationOptions plain{"finetune", 1, false, 0.0};
  PersonalizationOptions ditto{"ditto", 1, false, 2.0};
  auto a = create_model(ModelSpec{"cnn-small", 2, 16, 4});
  personalise(*a, *global, data, o, plain);
  auto b = create_model(ModelSpec{"cnn-small", 2, 16, 4});
  personalise(*b, *global, data, o, ditto);
  const std::vector<float> va = weights_of(*a), vb = weights_of(*b);
  for (std::size_t i = 0; i < va.size(); ++i) {
    REQUIRE(double(vb[i]) ==
            Approx(double(va[i]) - 0.1 * 2.0 * (double(v0[i]) - double(w[i]))).margin(1e-5));
  }
  CHECK(distance(vb, w) < distance(va, w));
}

TEST_CASE("a site trainer keeps, reports and writes its personalised model", "[personal]") {
  TempDir dir;
  TrainHeldOut split{tiny_images(24), tiny_images(8)};
  ModelSpec spec{"cnn-small", 2, 16, 3};
  const ModelBlob global = export_weights(*create_model(spec), spec);
  wire::JobSpec job = tiny_job("sgd", 0.1, 3);
  job.mutable_personalization()->set_method("ditto");
  job.mutable_personalization()->set_epochs(1);
  job.mutable_personalization()->set_ditto_lambda(0.5);
  auto go = [](const std::string&, double) { return true; };
  TorchTrainer trainer(std::make_shared<InMemoryDataSource>(split));
  trainer.set_personal_model_dir(dir.path + "/personalised");
  const TrainingResult r1 = trainer.train(job, 1, global, go);
  REQUIRE(r1.metrics.has_personal());
  CHECK(r1.metrics.personal_held_out_accuracy() >= 0);
  CHECK(r1.metrics.personal_held_out_loss() > 0);
  const std::string file = dir.path + "/personalised/j.personalised.fxm";
  REQUIRE(std::filesystem::exists(file));
  const ModelBlob kept = trainer.personal_model("j");
  CHECK(read_model_file(file).bytes == kept.bytes);
  CHECK(kept.bytes != r1.model.bytes);  // not the update that leaves the site
  // Ditto carries the personal model: round 2 starts from it, so a second trainer that never
  // ran round 1 ends round 2 with another personal model.
  trainer.train(job, 2, global, go);
  TorchTrainer fresh(std::make_shared<InMemoryDataSource>(split));
  fresh.train(job, 2, global, go);
  CHECK(trainer.personal_model("j").bytes != fresh.personal_model("j").bytes);
  trainer.end_job("j");
  CHECK(trainer.personal_model("j").bytes.empty());  // memory freed; the file stays
  CHECK(std::filesystem::exists(file));
  // Without personalization nothing is reported or kept.
  job.clear_personalization();
  CHECK_FALSE(trainer.train(job, 1, global, go).metrics.has_personal());
}

TEST_CASE("personalization travels in the job spec and a site can bound or refuse it",
          "[personal][config]") {
  TempDir dir;
  const std::string head =
      "job:\n  name: personal\n  model: cnn-small\n  classes: 2\n  image_size: 32\n  rounds: 2\n"
      "  sites_per_round: 1\n";
  write_file_atomically(dir.path + "/job.yaml",
                        head +
                            "  personalization:\n    method: finetune\n    epochs: 3\n"
                            "    head_only: true\n");
  const JobConfig job = load_job_config(dir.path + "/job.yaml");
  const wire::JobSpec spec = CoordinatorFixture(job, {"site-a"}, {8}).runner->job_spec();
  CHECK(spec.personalization().method() == "finetune");
  CHECK(spec.personalization().epochs() == 3);
  CHECK(spec.personalization().head_only());
  SitePolicy policy;
  CHECK(policy.violation(spec).empty());
  policy.max_local_epochs = 2;
  CHECK_THAT(policy.violation(spec), Catch::Contains("site policy 'max_local_epochs'") &&
                                         Catch::Contains("3 personalization epochs"));
  wire::JobSpec odd = spec;
  odd.mutable_personalization()->set_method("distill");
  CHECK_THAT(SitePolicy{}.malformed(odd), Catch::Contains("personalization.method"));
  odd = spec;
  odd.mutable_personalization()->set_ditto_lambda(std::nan(""));
  CHECK_THAT(SitePolicy{}.malformed(odd), Catch::Contains("personalization.ditto_lambda"));

  write_file_atomically(dir.path + "/bad.yaml",
                        head + "  personalization:\n    method: ditto\n    head_only: true\n");
  CHECK_THROWS_WITH(load_job_config(dir.path + "/bad.yaml"),
                    Catch::Contains("bad.yaml:10: 'job.personalization.head_only'") &&
                        Catch::Contains("finetune only"));
}

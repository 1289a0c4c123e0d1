// The site's filter chain (site-agent/filters/site_filters.h), each filter alone and the chain as
// a site policy sees it. No network.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <algorithm>
#include <limits>

#include "base/error.h"
#include "site-agent/filters/site_filters.h"
#include "site-agent/filters/standard_filters.h"
#include "tests/coordinator_fixture.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

wire::JobSpec filter_job() {
  return CoordinatorFixture(small_job("filters", 2, 1, 1), {"site-a"}, {8}).runner->job_spec();
}

TrainingResult trained(const ModelBlob& global, uint64_t samples) {
  TrainingResult r;
  r.model = global;
  r.samples = samples;
  return r;
}

}  // namespace

TEST_CASE("the inbound filter refuses a global model with NaN or of another model",
          "[site][filters]") {
  wire::JobSpec job = filter_job();
  const FilterRound round{job, 1, 100};
  ModelBlob global = make_model({8}, 3);
  global.manifest.set_model(job.model());
  FiniteGlobalModelFilter filter;
  CHECK_NOTHROW(filter.apply(round, global));
  ModelBlob poisoned = global;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(poisoned.bytes.data() + poisoned.manifest.tensors(0).offset() + 4, &nan, 4);
  CHECK_THROWS_AS(filter.apply(round, poisoned), ShareableError);
  CHECK_THROWS_WITH(filter.apply(round, poisoned), Catch::Contains("NaN or infinite"));
  ModelBlob other = global;
  other.manifest.set_model("resnet18");
  CHECK_THROWS_WITH(filter.apply(round, other), Catch::Contains("not the job's model"));
}

TEST_CASE("the weight cap filter holds an update to the dataset size and max_site_samples",
          "[site][filters]") {
  wire::JobSpec job = filter_job();
  const ModelBlob global = make_model({8}, 3);
  SampleWeightCapFilter cap;
  TrainingResult r = trained(global, 500);
  cap.apply(FilterRound{job, 1, 120}, global, r);
  CHECK(r.samples == 120);
  job.set_max_site_samples(50);
  cap.apply(FilterRound{job, 1, 120}, global, r);
  CHECK(r.samples == 50);
}

TEST_CASE("the DP filter clips and noises only DP jobs", "[site][filters][dp]") {
  wire::JobSpec job = filter_job();
  const ModelBlob global = make_model({8}, 3);
  DpClipNoiseFilter dp;
  CHECK_FALSE(dp.active(job));
  job.mutable_differential_privacy()->set_enabled(true);
  job.mutable_differential_privacy()->set_clip_norm(0.01);
  job.mutable_differential_privacy()->set_noise_multiplier(1e-3);
  job.mutable_differential_privacy()->set_summed_sites(1);
  CHECK(dp.active(job));
  TrainingResult r = trained(make_model({8}, 4), 80);  // far from the global model
  dp.apply(FilterRound{job, 1, 100}, global, r);
  CHECK(r.samples == 1);  // every DP site weighs the same
  double norm = 0;
  for (std::size_t k = 0; k < 8; ++k) {
    float a, b;
    std::memcpy(&a, r.model.bytes.data() + global.manifest.tensors(0).offset() + 4 * k, 4);
    std::memcpy(&b, global.bytes.data() + global.manifest.tensors(0).offset() + 4 * k, 4);
    norm += (double(a) - b) * (double(a) - b);
  }
  CHECK(std::sqrt(norm) < 0.02);  // clipped to 0.01, plus a little noise
}

TEST_CASE("the chain runs in order and a site policy can require a filter", "[site][filters]") {
  TempDir dir;
  SitePolicy policy;
  PrivacyBudget budget("");
  SiteFilters plain(policy, budget);
  const std::vector<std::string> names = plain.names();
  CHECK(names == std::vector<std::string>{"finite-global-model", "keep-batch-norm-local",
                                          "dp-clip-noise", "privacy-budget",
                                          "sample-weight-cap"});
  for (const auto& name : kOutboundFilters) {  // the config knows every outbound filter's name
    CHECK(std::find(names.begin(), names.end(), name) != names.end());
  }
  wire::JobSpec job = filter_job();
  CHECK(plain.check(FilterRound{job, 1, 100}).empty());
  policy.require_filters = {"dp-clip-noise"};
  SiteFilters strict(policy, budget);
  CHECK_THAT(strict.check(FilterRound{job, 1, 100}),
             Catch::Contains("site policy 'require_filters'") && Catch::Contains("dp-clip-noise"));
  job.mutable_differential_privacy()->set_enabled(true);
  job.mutable_differential_privacy()->set_noise_multiplier(1.0);
  CHECK(strict.check(FilterRound{job, 1, 100}).empty());

  SitePolicy no_noise;  // and can forbid one: the same DP job is now refused, naming the rule
  no_noise.forbid_filters = {"dp-clip-noise"};
  SiteFilters forbidding(no_noise, budget);
  CHECK_THAT(forbidding.check(FilterRound{job, 1, 100}),
             Catch::Contains("site policy 'forbid_filters'") && Catch::Contains("dp-clip-noise"));
  CHECK(forbidding.check(FilterRound{filter_job(), 1, 100}).empty());  // without DP it runs
}

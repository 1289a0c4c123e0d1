// The round protocol over real gRPC + mTLS on loopback, with scripted sites (no training):
// stale, duplicate and malformed uploads are refused with a reason and the round goes on.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/atomic_file.h"
#include "wire/model_file.h"
#include "privacy/secagg/fixed_point.h"
#include "tests/coordinator_fixture.h"

using namespace fedxray;
using namespace fedxray::testing;

namespace {

wire::WorkReply get_work(wire::Coordinator::Stub& stub) {
  grpc::ClientContext context;
  wire::WorkReply reply;
  REQUIRE(stub.GetWork(&context, wire::WorkRequest(), &reply).ok());
  return reply;
}

// Polls up to about 3 minutes (36 long polls of 5 s): opening a round of a multi-GiB model
// allocates its accumulator, which is slow on a loaded machine.
wire::WorkReply wait_for_train(wire::Coordinator::Stub& stub) {
  for (int i = 0; i < 36; ++i) {
    wire::WorkReply w = get_work(stub);
    if (w.kind() == wire::WorkReply::TRAIN) return w;
  }
  FAIL("no TRAIN assignment arrived");
  return {};
}

ModelBlob plus(const ModelBlob& m, float delta) {
  ModelBlob out = m;
  for (const auto& t : out.manifest.tensors()) {
    if (t.dtype() != wire::FLOAT32) continue;
    for (uint64_t b = t.offset(); b < t.offset() + t.nbytes(); b += 4) {
      float v;
      std::memcpy(&v, out.bytes.data() + b, 4);
      v += delta;
      std::memcpy(out.bytes.data() + b, &v, 4);
    }
  }
  out.seal();
  return out;
}

// A coordinator with site-a and site-b joined and rounds running.
struct TwoSites {
  explicit TwoSites(JobConfig job, double heartbeat_timeout_s = 20)
      : c(std::move(job), {}, {64, 1000}, heartbeat_timeout_s),
        a(c.stub(kit("site-a"))),
        b(c.stub(kit("site-b"))) {
    REQUIRE(join(*a, "site-a").ok());
    REQUIRE(join(*b, "site-b").ok());
    c.start_rounds();
  }
  CoordinatorFixture c;
  std::unique_ptr<wire::Coordinator::Stub> a, b;
};

std::vector<nlohmann::json> metrics(const JobRunner& runner) {
  std::vector<nlohmann::json> out;
  std::ifstream in(runner.store().metrics_path());
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("malformed and corrupted uploads are refused with a reason, the round goes on",
          "[protocol]") {
  CoordinatorFixture c(small_job("proto", 1, 3, 1));
  auto a = c.stub(kit("site-a"));
  auto b = c.stub(kit("site-b"));
  auto good = c.stub(kit("site-c"));
  REQUIRE(join(*a, "site-a").ok());
  REQUIRE(join(*b, "site-b").ok());
  REQUIRE(join(*good, "site-c").ok());
  c.start_rounds();
  for (auto* s : {a.get(), b.get(), good.get()}) REQUIRE(wait_for_train(*s).round() == 1);
  ModelBlob global = download_model(*a, "proto", 1);
  CHECK(global.bytes == c.initial.bytes);

  // site-b sends an update whose layout does not match the job's model.
  grpc::Status bad = upload_update(*b, "proto", 1, make_model({64, 999}, 3), 10);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_message().find("does not match the job's model") != std::string::npos);
  // site-a's bytes do not hash to the checksum it announced.
  ModelBlob lying = plus(global, 100.0f);
  lying.manifest.set_sha256(global.manifest.sha256());
  grpc::Status corrupt = upload_update(*a, "proto", 1, lying, 100);
  CHECK(corrupt.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(corrupt.error_message().find("checksum mismatch") != std::string::npos);
  // site-c is fine, and is the only one that counts.
  REQUIRE(upload_update(*good, "proto", 1, plus(global, 1.0f), 10).ok());

  c.rounds.join();
  CHECK(c.succeeded);
  CHECK(read_model_file(c.runner->store().pooled_path()).bytes == plus(global, 1.0f).bytes);
  auto records = metrics(*c.runner);
  REQUIRE(records.size() == 1);
  std::map<std::string, std::string> reasons;
  for (const auto& s : records[0]["sites"]) reasons[s["site"]] = s.value("reason", "reported");
  CHECK(reasons["site-a"].find("checksum mismatch") != std::string::npos);
  CHECK(reasons["site-b"].find("malformed update") != std::string::npos);
  CHECK(reasons["site-c"] == "reported");
}

TEST_CASE("a second upload for the same round and an upload for a closed round are refused",
          "[protocol]") {
  TwoSites two(small_job("proto", 2, 2, 2));
  auto& [c, a, b] = two;
  wait_for_train(*a);
  wait_for_train(*b);
  ModelBlob global = download_model(*a, "proto", 1);
  download_model(*b, "proto", 1);
  REQUIRE(upload_update(*a, "proto", 1, plus(global, 1.0f), 30).ok());
  grpc::Status again = upload_update(*a, "proto", 1, plus(global, 5.0f), 30);
  CHECK(again.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(again.error_message().find("second upload for the same round is refused") != std::string::npos);
  REQUIRE(upload_update(*b, "proto", 1, plus(global, 2.0f), 10).ok());

  REQUIRE(wait_for_train(*a).round() == 2);
  grpc::Status stale = upload_update(*b, "proto", 1, plus(global, 2.0f), 10);
  CHECK(stale.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(stale.error_message().find("stale") != std::string::npos);

  // Round 1's pooled model is the weighted mean of exactly the two accepted uploads:
  // (30 * (x + 1) + 10 * (x + 2)) / 40 = x + 1.25.
  ModelBlob round1 = read_model_file(c.runner->store().model_path(1));
  ModelBlob expected = plus(global, 1.25f);
  float got_v, want_v;
  std::memcpy(&got_v, round1.bytes.data() + 40, 4);
  std::memcpy(&want_v, expected.bytes.data() + 40, 4);
  CHECK(got_v == Approx(want_v).epsilon(1e-6));
}

TEST_CASE("a round fails cleanly when fewer than min_sites report by the deadline", "[protocol]") {
  JobConfig job = small_job("deadline", 1, 2, 2);
  job.round_deadline_s = 1.5;
  TwoSites two(job);
  auto& [c, a, b] = two;
  wait_for_train(*a);
  ModelBlob global = download_model(*a, "deadline", 1);
  REQUIRE(upload_update(*a, "deadline", 1, plus(global, 1.0f), 5).ok());
  // site-b never reports.
  c.rounds.join();
  CHECK_FALSE(c.succeeded);
  auto records = metrics(*c.runner);
  REQUIRE(records.size() == 1);
  CHECK(records[0]["status"] == "failed");
  CHECK(records[0]["reason"].get<std::string>().find("fewer than min_sites (2) by the deadline") !=
        std::string::npos);
  bool b_recorded_late = false;
  for (const auto& s : records[0]["sites"]) {
    if (s["site"] == "site-b") {
      b_recorded_late = s["reason"].get<std::string>().find("late") != std::string::npos;
      CHECK(s["state"] == "late");  // recorded as a state, not read back from the reason
    }
  }
  CHECK(b_recorded_late);
  CHECK_FALSE(std::ifstream(c.runner->store().model_path(1)).good());  // no model from a failed round
  CHECK(get_work(*a).kind() == wire::WorkReply::JOB_FINISHED);
}

TEST_CASE("a round completes at its deadline with min_sites and records the late site", "[protocol]") {
  JobConfig job = small_job("partial", 1, 2, 1);
  job.round_deadline_s = 1.5;
  TwoSites two(job);
  auto& [c, a, b] = two;
  wait_for_train(*a);
  ModelBlob global = download_model(*a, "partial", 1);
  REQUIRE(upload_update(*a, "partial", 1, plus(global, 3.0f), 5).ok());
  c.rounds.join();
  CHECK(c.succeeded);
  ModelBlob pooled = read_model_file(c.runner->store().pooled_path());
  CHECK(pooled.bytes == plus(global, 3.0f).bytes);
  auto records = metrics(*c.runner);
  REQUIRE(records.size() == 1);
  CHECK(records[0]["status"] == "completed");
  CHECK(records[0]["reported"] == 1);
}

TEST_CASE("a selected site that stops heartbeating is dropped and the round closes early",
          "[protocol]") {
  JobConfig job = small_job("silent", 1, 2, 1);
  job.round_deadline_s = 60;
  const auto started = std::chrono::steady_clock::now();
  TwoSites two(job, /*heartbeat_timeout_s=*/1.5);
  auto& [c, a, b] = two;
  wait_for_train(*a);
  wait_for_train(*b);
  download_model(*b, "silent", 1);  // site-b starts training, then falls silent
  ModelBlob global = download_model(*a, "silent", 1);
  REQUIRE(upload_update(*a, "silent", 1, plus(global, 1.0f), 5).ok());
  c.rounds.join();
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  CHECK(took < 10);  // not the 60 s deadline
  CHECK(c.succeeded);
  auto records = metrics(*c.runner);
  REQUIRE(records.size() == 1);
  std::string b_reason;
  for (const auto& s : records[0]["sites"]) {
    if (s["site"] == "site-b") b_reason = s.value("reason", "");
  }
  CHECK(b_reason.find("no heartbeat for") != std::string::npos);
  wire::HeartbeatRequest beat;
  beat.set_job_id("silent");
  beat.set_round(1);
  grpc::ClientContext context;
  wire::HeartbeatReply reply;
  REQUIRE(b->Heartbeat(&context, beat, &reply).ok());
  CHECK_FALSE(reply.keep_going());  // told to stop training: the round is over for it
}

TEST_CASE("a site that gives up a round is recorded with its reason at once", "[protocol]") {
  JobConfig job = small_job("refuse", 1, 2, 1);
  job.round_deadline_s = 60;
  const auto started = std::chrono::steady_clock::now();
  TwoSites two(job);
  auto& [c, a, b] = two;
  wait_for_train(*a);
  wait_for_train(*b);
  wire::HeartbeatRequest refusal;
  refusal.set_job_id("refuse");
  refusal.set_round(1);
  refusal.set_phase("failed");
  refusal.set_failure("labels.csv: none of the 40 listed images is usable");
  grpc::ClientContext context;
  wire::HeartbeatReply reply;
  REQUIRE(b->Heartbeat(&context, refusal, &reply).ok());
  CHECK_FALSE(reply.keep_going());
  ModelBlob global = download_model(*a, "refuse", 1);
  REQUIRE(upload_update(*a, "refuse", 1, plus(global, 1.0f), 5).ok());
  c.rounds.join();
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() < 10);
  auto records = metrics(*c.runner);
  REQUIRE(records.size() == 1);
  CHECK(records[0]["status"] == "completed");
  std::string b_reason, b_state;
  for (const auto& s : records[0]["sites"]) {
    if (s["site"] == "site-b") {
      b_reason = s.value("reason", "");
      b_state = s.value("state", "");
    }
  }
  CHECK(b_reason == "site refused the round: labels.csv: none of the 40 listed images is usable");
  CHECK(b_state == "refused");
}

TEST_CASE("a model of more than 2 GiB downloads in 1 MiB chunks with its checksum", "[protocol][large]") {
  // 2 GiB + 3 MiB of float32 in three tensors; no protobuf message ever holds more than 1 MiB.
  const int64_t big = (int64_t(1) << 29) + (int64_t(3) << 18);
  JobConfig job = small_job("large", 1, 1, 1);
  CoordinatorFixture c(job, {}, {big / 2, big / 2, 1000});
  REQUIRE(c.initial.bytes.size() > (uint64_t(2) << 30));
  auto a = c.stub(kit("site-a"));
  REQUIRE(join(*a, "site-a").ok());
  c.start_rounds();
  wait_for_train(*a);
  ModelBlob got = download_model(*a, "large", 1);  // throws on checksum mismatch
  CHECK(got.manifest.total_bytes() == c.initial.bytes.size());
  CHECK(got.manifest.sha256() == c.initial.manifest.sha256());
  CHECK(got.bytes == c.initial.bytes);
}

TEST_CASE("an update claiming more samples than its site joined with is refused and recorded",
          "[protocol][hostile]") {
  TwoSites two(small_job("greedy", 1, 2, 1));  // both sites joined with 100 images
  auto& [c, a, b] = two;
  wait_for_train(*a);
  wait_for_train(*b);
  ModelBlob global = download_model(*a, "greedy", 1);
  // site-b would take over the average with a weight of 10^12.
  grpc::Status greedy = upload_update(*b, "greedy", 1, plus(global, 100.0f), 1000000000000ULL);
  CHECK(greedy.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(greedy.error_message().find("claims 1000000000000 samples, more than the 100") !=
        std::string::npos);
  REQUIRE(upload_update(*a, "greedy", 1, plus(global, 1.0f), 100).ok());
  c.rounds.join();
  CHECK(c.succeeded);
  CHECK(read_model_file(c.runner->store().pooled_path()).bytes == plus(global, 1.0f).bytes);
  auto records = metrics(*c.runner);
  REQUIRE(records.size() == 1);
  std::string b_reason;
  for (const auto& s : records[0]["sites"]) {
    if (s["site"] == "site-b") b_reason = s.value("reason", "");
  }
  CHECK(b_reason.find("refused: the update claims 1000000000000 samples") != std::string::npos);
  for (const auto& s : records[0]["sites"]) {
    if (s["site"] == "site-b") CHECK(s["state"] == "failed");  // its update failed, not the site
  }
}

TEST_CASE("a site weighs at most the job's max_site_samples", "[protocol][hostile]") {
  JobConfig job = small_job("capped", 1, 1, 1);
  job.max_site_samples = 40;
  CoordinatorFixture c(job);
  auto a = c.stub(kit("site-a"));
  REQUIRE(join(*a, "site-a").ok());  // with 100 images
  c.start_rounds();
  wire::WorkReply work = wait_for_train(*a);
  CHECK(work.job().max_site_samples() == 40);  // sites are told the cap
  ModelBlob global = download_model(*a, "capped", 1);
  grpc::Status over = upload_update(*a, "capped", 1, plus(global, 1.0f), 41);
  CHECK(over.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(over.error_message().find("more than the 40 it may weigh") != std::string::npos);
}

TEST_CASE("a huge declared dataset does not shrink the secure-aggregation scale",
          "[protocol][hostile][secagg]") {
  JobConfig job = small_job("scale", 1, 2, 2);
  job.secure_aggregation.enabled = true;
  job.max_site_samples = 1000;
  CoordinatorFixture c(job);
  auto a = c.stub(kit("site-a"));
  auto b = c.stub(kit("site-b"));
  REQUIRE(join(*a, "site-a").ok());  // 100 images
  wire::JoinRequest huge;
  huge.set_site_name("site-b");
  huge.set_software_version("1.0");
  huge.set_dataset_size(uint64_t(1) << 60);
  huge.add_supported_models("test-model");
  grpc::ClientContext context;
  wire::JoinReply reply;
  REQUIRE(b->Join(&context, huge, &reply).ok());
  c.start_rounds();
  wire::WorkReply work = wait_for_train(*a);
  REQUIRE(work.has_secure_aggregation());
  // The scale is set by the caps (100 + 1000), not by what site-b declared.
  const double expected =
      FixedPointCode::for_total_weight(job.secure_aggregation.clip, 100 + 1000).scale;
  CHECK(work.secure_aggregation().scale() == Approx(expected));
}

TEST_CASE("a join with no images, an oversized version or too many models is refused",
          "[protocol][hostile]") {
  CoordinatorFixture c(small_job("joins", 1, 1, 1));
  auto a = c.stub(kit("site-a"));
  auto attempt = [&](const std::function<void(wire::JoinRequest&)>& change) {
    wire::JoinRequest request;
    request.set_site_name("site-a");
    request.set_software_version("1.0");
    request.set_dataset_size(100);
    request.add_supported_models("test-model");
    change(request);
    grpc::ClientContext context;
    wire::JoinReply reply;
    return a->Join(&context, request, &reply);
  };
  grpc::Status empty = attempt([](wire::JoinRequest& r) { r.set_dataset_size(0); });
  CHECK(empty.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(empty.error_message().find("dataset_size is 0") != std::string::npos);
  grpc::Status version =
      attempt([](wire::JoinRequest& r) { r.set_software_version(std::string(100000, 'v')); });
  CHECK(version.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(version.error_message().find("software_version is longer than 128") != std::string::npos);
  grpc::Status models = attempt([](wire::JoinRequest& r) {
    for (int i = 0; i < 300; ++i) r.add_supported_models("m" + std::to_string(i));
  });
  CHECK(models.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(models.error_message().find("more than 256") != std::string::npos);
  CHECK(attempt([](wire::JoinRequest&) {}).ok());
  CHECK_FALSE(c.runner->has_joined("nobody"));
}

TEST_CASE("a site that opens calls in a loop is held to a few at a time", "[protocol][hostile]") {
  CoordinatorFixture c(small_job("flood", 1, 3, 3));  // two of three sites: no round starts
  auto a = c.stub(kit("site-a"));
  auto b = c.stub(kit("site-b"));
  REQUIRE(join(*a, "site-a").ok());
  REQUIRE(join(*b, "site-b").ok());
  c.start_rounds();
  // 24 long polls at once from site-a: each waits up to 5 s, so they overlap.
  std::vector<grpc::Status> statuses(24);
  std::vector<std::thread> polls;
  for (auto& status : statuses) {
    polls.emplace_back([&a, &status] {
      grpc::ClientContext context;
      wire::WorkReply reply;
      status = a->GetWork(&context, wire::WorkRequest(), &reply);
    });
  }
  for (auto& t : polls) t.join();
  int exhausted = 0;
  for (const auto& s : statuses) {
    if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
      ++exhausted;
      CHECK_THAT(s.error_message(), Catch::Contains("calls in flight"));
    } else {
      CHECK(s.ok());
    }
  }
  CHECK(exhausted >= int(statuses.size()) - kMaxCallsPerSite);
  CHECK(exhausted < int(statuses.size()));
  // Another site is not affected, and site-a's slots come back.
  CHECK(get_work(*b).kind() != wire::WorkReply::JOB_FINISHED);
  CHECK(join(*a, "site-a").ok());
}

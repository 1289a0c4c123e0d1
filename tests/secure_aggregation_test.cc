// Secure aggregation rounds with real keys, certificates and masks, run in one process: the
// coordinator's SecAggServer relays every message between SecAggSite objects exactly as it would
// over the network, and the tests play a faulty site or a dishonest coordinator at each stage.
#include <catch2/catch.hpp>

#include <functional>
#include <map>
#include <random>
#include <set>

#include "pki/certificate_authority.h"
#include "privacy/secagg/secure_aggregation_server.h"
#include "privacy/secagg/secure_aggregation_site.h"

using namespace fedxray;

namespace {

struct Consortium {
  CertificateAuthority ca = CertificateAuthority::create("secagg-test", 30);
  std::vector<SiteCredentials> sites;
};

const Consortium& consortium(int n) {
  static std::map<int, Consortium> made;
  auto it = made.find(n);
  if (it != made.end()) return it->second;
  Consortium& c = made[n];
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "site-%02d", i);
    const std::string key = generate_private_key_pem();
    c.sites.push_back({name, key, c.ca.issue(key, {name, "site", {}, false, 30}), c.ca.certificate_pem()});
  }
  return c;
}

SecAggRound make_round(int n, int threshold, int neighbours, std::size_t words, int round = 1) {
  SecAggRound r;
  r.job = "secagg-test";
  r.round = round;
  for (const auto& s : consortium(n).sites) r.sites.push_back(s.name);
  r.threshold = threshold;
  r.neighbours = neighbours;
  r.graph_seed = "graph-seed-" + std::to_string(round);
  r.vector_words = words;
  return r;
}

std::vector<uint32_t> random_input(std::size_t words, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint32_t> v(words);
  for (auto& w : v) w = rng() % 1000;  // small values: easy to tell from masked ones
  return v;
}

// What a test may do to a round: drop sites at a stage, or tamper with messages.
struct Faults {
  std::set<std::string> silent_from_start;   // never advertise
  std::set<std::string> drop_before_input;   // take part in sharing, then vanish
  std::function<void(std::vector<KeyAdvert>&)> tamper_directory;
  std::function<void(std::vector<SealedShare>&)> tamper_shares;   // all shares of the round
  std::function<void(const std::string&, std::vector<uint32_t>&)> tamper_input;
};

struct Outcome {
  SecAggReport report;
  std::vector<uint32_t> sum;
  std::vector<uint32_t> expected;  // plaintext sum of report.masked
  std::map<std::string, std::vector<uint32_t>> sent;  // masked vectors as sent
  std::vector<std::string> refusals;
};

Outcome run_round(const SecAggRound& round, const Faults& f = {}) {
  const Consortium& c = consortium(int(round.sites.size()));
  SecAggServer server(round, c.ca.certificate_pem());
  std::map<std::string, std::unique_ptr<SecAggSite>> sites;
  std::map<std::string, std::vector<uint32_t>> inputs;
  Outcome out;
  for (std::size_t i = 0; i < c.sites.size(); ++i) {
    const auto& cred = c.sites[i];
    inputs[cred.name] = random_input(round.vector_words, uint32_t(i + 1));
    if (f.silent_from_start.count(cred.name)) continue;
    sites[cred.name] = std::make_unique<SecAggSite>(cred, round);
    REQUIRE(server.add_advert(sites[cred.name]->advertise()).empty());
  }
  std::vector<KeyAdvert> directory = server.directory();
  if (f.tamper_directory) f.tamper_directory(directory);
  std::vector<SealedShare> all_shares;
  for (auto& [name, site] : sites) {
    try {
      auto shares = site->share_secrets(directory);
      all_shares.insert(all_shares.end(), shares.begin(), shares.end());
    } catch (const SecAggRefusal& e) {
      out.refusals.push_back(name + ": " + e.what());
    }
  }
  if (f.tamper_shares) f.tamper_shares(all_shares);
  std::map<std::string, std::vector<SealedShare>> by_sender;
  for (const auto& [name, site] : sites) {
    if (site->name() == name && !all_shares.empty()) by_sender[name];  // even with no messages
  }
  std::set<std::string> refused;
  for (const auto& r : out.refusals) refused.insert(r.substr(0, r.find(':')));
  for (const auto& r : refused) by_sender.erase(r);
  for (const auto& s : all_shares) by_sender[s.from].push_back(s);
  for (const auto& [name, shares] : by_sender) server.add_shares(name, shares);
  for (auto& [name, site] : sites) {
    if (!server.takes_part(name) || !by_sender.count(name)) continue;
    server.add_receipt(site->receive_shares(server.shares_for(name)));
  }
  server.close_receipts();
  for (auto& [name, site] : sites) {
    if (!server.takes_part(name) || !by_sender.count(name) || f.drop_before_input.count(name)) continue;
    site->accept_plan(server.plan_for(name));
    std::vector<uint32_t> masked = inputs[name];
    site->mask(masked.data(), masked.size(), 0);
    if (f.tamper_input) f.tamper_input(name, masked);
    out.sent[name] = masked;
    server.add_masked_input(name, masked);
  }
  const UnmaskRequest request = server.unmask_request();
  for (const auto& name : request.survivors) {
    try {
      server.add_unmask_response(sites[name]->unmask(request));
    } catch (const SecAggRefusal& e) {
      out.refusals.push_back(name + ": " + e.what());
    }
  }
  out.report = server.finish(out.sum);
  out.expected.assign(round.vector_words, 0u);
  for (const auto& name : out.report.masked) {
    for (std::size_t k = 0; k < out.expected.size(); ++k) out.expected[k] += inputs[name][k];
  }
  return out;
}

}  // namespace

TEST_CASE("secure sum of 5 sites equals the plaintext sum", "[secagg]") {
  const auto out = run_round(make_round(5, 3, 0, 4099));
  INFO(out.report.failure);
  REQUIRE(out.report.succeeded);
  REQUIRE(out.report.masked.size() == 5);
  REQUIRE(out.sum == out.expected);
  REQUIRE(out.refusals.empty());
}

TEST_CASE("dropouts after masking: up to n - t sites may drop and the sum of survivors is exact", "[secagg]") {
  for (int drops = 0; drops <= 2; ++drops) {
    Faults f;
    for (int i = 0; i < drops; ++i) f.drop_before_input.insert("site-0" + std::to_string(2 * i + 1));
    const auto out = run_round(make_round(5, 3, 0, 1000), f);
    INFO(drops << " drops: " << out.report.failure);
    REQUIRE(out.report.succeeded);
    REQUIRE(out.report.masked.size() == std::size_t(5 - drops));
    REQUIRE(out.report.dropped.size() == std::size_t(drops));
    REQUIRE(out.sum == out.expected);
  }
}

TEST_CASE("too many drops fail the round cleanly and reveal nothing", "[secagg]") {
  Faults f;
  f.drop_before_input = {"site-00", "site-02", "site-04"};
  const auto out = run_round(make_round(5, 3, 0, 1000), f);
  REQUIRE_FALSE(out.report.succeeded);
  REQUIRE_THAT(out.report.failure, Catch::Contains("2 sites delivered masked input"));
  REQUIRE(out.sum.empty());
  // The two survivors refused to reveal anything: the request had fewer survivors than t.
  REQUIRE(out.refusals.size() == 2);
  REQUIRE_THAT(out.refusals[0], Catch::Contains("fewer than the threshold"));
}

TEST_CASE("sites that never show up are left out before any secret is shared", "[secagg]") {
  Faults f;
  f.silent_from_start = {"site-01"};
  const auto out = run_round(make_round(5, 3, 0, 300), f);
  REQUIRE(out.report.succeeded);
  REQUIRE(out.report.masked.size() == 4);
  REQUIRE(out.sum == out.expected);
}

TEST_CASE("sparse graph: 20 sites with 6 neighbours each, 4 dropping, sum exact", "[secagg]") {
  Faults f;
  f.drop_before_input = {"site-03", "site-07", "site-11", "site-15"};
  const auto out = run_round(make_round(20, 3, 6, 2000), f);
  INFO(out.report.failure);
  REQUIRE(out.report.succeeded);
  REQUIRE(out.report.masked.size() == 16);
  REQUIRE(out.sum == out.expected);
}

TEST_CASE("an honest site never reveals both shares of one site", "[secagg]") {
  const Consortium& c = consortium(5);
  const SecAggRound round = make_round(5, 3, 0, 64);
  SecAggServer server(round, c.ca.certificate_pem());
  std::vector<std::unique_ptr<SecAggSite>> sites;
  for (const auto& cred : c.sites) {
    sites.push_back(std::make_unique<SecAggSite>(cred, round));
    server.add_advert(sites.back()->advertise());
  }
  for (auto& s : sites) server.add_shares(s->name(), s->share_secrets(server.directory()));
  for (auto& s : sites) server.add_receipt(s->receive_shares(server.shares_for(s->name())));
  server.close_receipts();
  for (auto& s : sites) s->accept_plan(server.plan_for(s->name()));
  SecAggSite& honest = *sites[0];

  // Asked in one request to treat site-01 as both survivor and dropped.
  UnmaskRequest both{{"site-00", "site-01", "site-02", "site-03"}, {"site-01", "site-04"}};
  REQUIRE_THROWS_WITH(honest.unmask(both), Catch::Contains("both survivor and dropped"));
  // Asked for site-04's self-mask seed share, then for its masking key share.
  UnmaskRequest first{{"site-00", "site-01", "site-02", "site-04"}, {"site-03"}};
  const UnmaskResponse r = honest.unmask(first);
  bool seed_of_04 = false;
  for (const auto& s : r.shares) seed_of_04 |= s.owner == "site-04" && s.kind == ShareKind::self_mask_seed;
  REQUIRE(seed_of_04);
  UnmaskRequest second{{"site-00", "site-01", "site-02"}, {"site-03", "site-04"}};
  REQUIRE_THROWS_WITH(honest.unmask(second), Catch::Contains("other kind of share of 'site-04'"));
  // Repeating the first request is harmless and allowed.
  REQUIRE(honest.unmask(first).shares.size() == r.shares.size());
}

TEST_CASE("a swapped key in the directory is detected by the sites", "[secagg]") {
  Faults f;
  f.tamper_directory = [](std::vector<KeyAdvert>& d) {
    d[2].masking_public_key = X25519KeyPair::generate().public_key;  // coordinator's own key
  };
  const auto out = run_round(make_round(5, 3, 0, 64), f);
  // Every neighbour of site-02 refuses; with the complete graph that is all others.
  REQUIRE(out.refusals.size() >= 4);
  REQUIRE_THAT(out.refusals[0], Catch::Contains("tampered with") && Catch::Contains("does not verify"));
  REQUIRE_FALSE(out.report.succeeded);
}

TEST_CASE("a forged advert is refused by the coordinator and the site left out", "[secagg]") {
  const Consortium& c = consortium(5);
  const SecAggRound round = make_round(5, 3, 0, 64);
  SecAggServer server(round, c.ca.certificate_pem());
  SecAggSite liar(c.sites[1], round);
  KeyAdvert advert = liar.advertise();
  advert.site = "site-02";  // claims to be another site
  REQUIRE_THAT(server.add_advert(advert), Catch::Contains("certificate of site 'site-01'"));
  REQUIRE_FALSE(server.takes_part("site-02"));
}

TEST_CASE("a site sending a malformed share is excluded, the others finish with their exact sum", "[secagg]") {
  Faults f;
  f.tamper_shares = [](std::vector<SealedShare>& shares) {
    for (auto& s : shares) {
      if (s.from == "site-03" && s.to == "site-00") s.sealed[20] ^= 0x40;
    }
  };
  const auto out = run_round(make_round(5, 3, 0, 500), f);
  INFO(out.report.failure);
  REQUIRE(out.report.succeeded);
  REQUIRE(out.report.excluded.count("site-03"));
  REQUIRE_THAT(out.report.excluded.at("site-03"), Catch::Contains("could not open"));
  REQUIRE(out.report.masked.size() == 4);
  REQUIRE(out.sum == out.expected);
}

TEST_CASE("a wrong-length masked vector is refused and that site counted as dropped", "[secagg]") {
  Faults f;
  f.tamper_input = [](const std::string& site, std::vector<uint32_t>& v) {
    if (site == "site-04") v.pop_back();
  };
  const auto out = run_round(make_round(5, 3, 0, 500), f);
  REQUIRE(out.report.succeeded);
  REQUIRE(out.report.dropped == std::vector<std::string>{"site-04"});
  REQUIRE(out.sum == out.expected);
}

TEST_CASE("the masked vector looks uniform and changes completely between rounds", "[secagg]") {
  const std::size_t words = 50000;
  const auto r1 = run_round(make_round(5, 3, 0, words, 1));
  const auto r2 = run_round(make_round(5, 3, 0, words, 2));
  // Same input (random_input(seed 1)) both rounds for site-00.
  const auto& a = r1.sent.at("site-00");
  const auto& b = r2.sent.at("site-00");
  std::vector<double> counts(256, 0.0);
  for (uint32_t w : a) {
    for (int i = 0; i < 4; ++i) counts[(w >> (8 * i)) & 0xff] += 1;
  }
  const double expected = double(words) * 4 / 256;
  double chi = 0;
  for (double x : counts) chi += (x - expected) * (x - expected) / expected;
  REQUIRE(chi < 347.7);  // 255 dof, 99.99% point (Wilson-Hilferty)
  std::size_t same = 0;
  for (std::size_t k = 0; k < words; ++k) same += a[k] == b[k];
  REQUIRE(same < 5);
  // while the plaintext inputs were < 1000: none of the masked words reveal that.
  std::size_t small = 0;
  for (uint32_t w : a) small += w < 1000;
  REQUIRE(small < 5);
}

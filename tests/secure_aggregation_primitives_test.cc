// The building blocks of secure aggregation: Shamir sharing, X25519 + HKDF, AES-GCM, the mask
// generator, fixed-point encoding, the neighbour graph and certificate-key signatures.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <set>

#include "pki/certificate_authority.h"
#include "base/error.h"
#include "privacy/secagg/authenticated_encryption.h"
#include "privacy/secagg/fixed_point.h"
#include "privacy/secagg/key_agreement.h"
#include "privacy/secagg/mask_generator.h"
#include "privacy/secagg/neighbour_graph.h"
#include "privacy/secagg/participant_signature.h"
#include "privacy/secagg/shamir.h"

using namespace fedxray;

namespace {

// Every k-subset of {0..n-1}, in lexicographic order.
std::vector<std::vector<int>> subsets(int n, int k) {
  std::vector<std::vector<int>> out;
  std::vector<int> pick(static_cast<std::size_t>(k));
  std::iota(pick.begin(), pick.end(), 0);
  while (true) {
    out.push_back(pick);
    int i = k - 1;
    while (i >= 0 && pick[std::size_t(i)] == n - k + i) --i;
    if (i < 0) break;
    ++pick[std::size_t(i)];
    for (int j = i + 1; j < k; ++j) pick[std::size_t(j)] = pick[std::size_t(j - 1)] + 1;
  }
  return out;
}

// Pearson chi-square of byte frequencies against uniform (255 degrees of freedom).
double byte_chi_square(const unsigned char* data, std::size_t size) {
  std::vector<double> counts(256, 0.0);
  for (std::size_t i = 0; i < size; ++i) counts[data[i]] += 1;
  const double expected = double(size) / 256.0;
  double chi = 0;
  for (double c : counts) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

}  // namespace

TEST_CASE("Shamir: every t-subset of n shares recovers the secret, for all t <= n <= 7", "[shamir]") {
  const std::string secret = random_seed();
  for (int n = 1; n <= 7; ++n) {
    for (int t = 1; t <= n; ++t) {
      const auto shares = shamir_split(secret, t, n);
      REQUIRE(shares.size() == std::size_t(n));
      for (const auto& pick : subsets(n, t)) {
        std::vector<ShamirShare> chosen;
        for (int i : pick) chosen.push_back(shares[std::size_t(i)]);
        std::reverse(chosen.begin(), chosen.end());  // order must not matter
        REQUIRE(shamir_recover(chosen, t) == secret);
      }
    }
  }
}

TEST_CASE("Shamir: fewer than t shares do not give the secret, and bad shares are refused", "[shamir]") {
  const std::string secret = random_seed();
  auto shares = shamir_split(secret, 3, 5);
  // Interpolating 2 shares of a degree-2 polynomial as if t were 2 gives a different value.
  // (or finds values that are not 4-byte words at all and says the shares are inconsistent).
  std::string guessed;
  try {
    guessed = shamir_recover({shares[0], shares[1]}, 2);
  } catch (const Error& e) {
    REQUIRE_THAT(e.what(), Catch::Contains("inconsistent"));
  }
  REQUIRE(guessed != secret);
  REQUIRE_THROWS_WITH(shamir_recover({shares[0], shares[1]}, 3), Catch::Contains("threshold is 3"));
  REQUIRE_THROWS_WITH(shamir_recover({shares[0], shares[0], shares[1]}, 3), Catch::Contains("same x"));
  ShamirShare zero = shares[2];
  zero.x = 0;
  REQUIRE_THROWS_WITH(shamir_recover({shares[0], shares[1], zero}, 3), Catch::Contains("x = 0"));
  // Two sharings of the same secret look unrelated (fresh randomness each time).
  REQUIRE(shamir_split(secret, 3, 5)[0].y != shares[0].y);
  // Serialisation round trip and malformed input.
  REQUIRE(ShamirShare::parse(shares[4].serialize()).y == shares[4].y);
  std::string cut = shares[4].serialize();
  cut.pop_back();
  REQUIRE_THROWS_WITH(ShamirShare::parse(cut), Catch::Contains("malformed"));
  REQUIRE_THROWS(shamir_split(secret, 0, 3));
  REQUIRE_THROWS(shamir_split(secret, 4, 3));
  // Secrets whose length is not a multiple of 4 come back exactly.
  REQUIRE(shamir_recover(shamir_split("odd-length", 2, 3), 2) == "odd-length");
}

TEST_CASE("X25519 + HKDF: both ends derive the same key, bound to its context", "[secagg-crypto]") {
  const auto a = X25519KeyPair::generate();
  const auto b = X25519KeyPair::generate();
  const std::string ab = derive_pairwise_key(a.secret_key, b.public_key, "job 1 round 2");
  REQUIRE(ab.size() == 32);
  REQUIRE(ab == derive_pairwise_key(b.secret_key, a.public_key, "job 1 round 2"));
  REQUIRE(ab != derive_pairwise_key(b.secret_key, a.public_key, "job 1 round 3"));
  REQUIRE(X25519KeyPair::from_secret(a.secret_key).public_key == a.public_key);
  REQUIRE_THROWS(derive_pairwise_key(a.secret_key, std::string(31, 'x'), "c"));
  REQUIRE_THROWS(derive_pairwise_key(a.secret_key, std::string(32, '\0'), "c"));  // low order
}

TEST_CASE("AES-256-GCM: opens only with the right key and associated data, unaltered", "[secagg-crypto]") {
  const std::string key = random_seed();
  const std::string sealed = seal(key, "share bytes", "from a to b");
  REQUIRE(open_sealed(key, sealed, "from a to b") == "share bytes");
  REQUIRE_THROWS_WITH(open_sealed(key, sealed, "from a to c"), Catch::Contains("authentication"));
  REQUIRE_THROWS(open_sealed(random_seed(), sealed, "from a to b"));
  std::string altered = sealed;
  altered[14] ^= 1;
  REQUIRE_THROWS(open_sealed(key, altered, "from a to b"));
  REQUIRE(seal(key, "share bytes", "from a to b") != sealed);  // fresh nonce
}

TEST_CASE("masks: seekable, cancel exactly, and look uniform", "[secagg-crypto]") {
  const std::string seed = random_seed();
  const std::size_t n = 100003;
  std::vector<uint32_t> whole(n, 7u), pieces(n, 7u);
  apply_mask(seed, 0, whole.data(), n, MaskSign::add);
  // The same mask applied in odd-sized chunks at odd offsets.
  for (std::size_t at = 0; at < n;) {
    const std::size_t len = std::min<std::size_t>(n - at, 1 + (at * 7919) % 40000);
    apply_mask(seed, at, pieces.data() + at, len, MaskSign::add);
    at += len;
  }
  REQUIRE(whole == pieces);
  apply_mask(seed, 0, whole.data(), n, MaskSign::subtract);
  REQUIRE(std::all_of(whole.begin(), whole.end(), [](uint32_t v) { return v == 7u; }));
  // A constant vector plus the mask: bytes uniform (chi-square, 255 dof; 99.99% point 347.7).
  const double chi = byte_chi_square(reinterpret_cast<const unsigned char*>(pieces.data()), n * 4);
  REQUIRE(chi < 347.7);
  // and a different seed gives an unrelated mask.
  std::vector<uint32_t> other(n, 7u);
  apply_mask(random_seed(), 0, other.data(), n, MaskSign::add);
  std::size_t same = 0;
  for (std::size_t i = 0; i < n; ++i) same += other[i] == pieces[i];
  REQUIRE(same < 5);
}

TEST_CASE("fixed point: the decoded sum is within the documented bound, and cannot overflow", "[secagg-crypto]") {
  const int sites = 7;
  const std::vector<double> weights = {10, 200, 33, 1, 57, 400, 99};
  const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
  const double clip = 2.0;
  const FixedPointCode code = FixedPointCode::for_total_weight(clip, total);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> value(-2.5f, 2.5f);  // some beyond the clip
  const std::size_t n = 5000;
  std::vector<uint32_t> ring(n, 0u), enc(n);
  std::vector<double> expected(n, 0.0);
  std::size_t clipped = 0;
  for (int s = 0; s < sites; ++s) {
    std::vector<float> x(n);
    for (auto& v : x) v = value(rng);
    x[0] = float(clip);  // the extreme: every site at +clip on coordinate 0
    clipped += encode_fixed_point(code, x.data(), n, weights[std::size_t(s)], enc.data());
    for (std::size_t k = 0; k < n; ++k) {
      ring[k] += enc[k];
      expected[k] += weights[std::size_t(s)] * std::clamp(double(x[k]), -clip, clip);
    }
  }
  REQUIRE(clipped > 0);
  std::vector<double> decoded(n);
  decode_fixed_point(code, ring.data(), n, decoded.data());
  const double bound = code.quantisation_bound(sites, total);
  REQUIRE(bound < 1e-8);
  double worst = 0;
  for (std::size_t k = 0; k < n; ++k) worst = std::max(worst, std::abs(decoded[k] - expected[k]) / total);
  REQUIRE(worst <= bound);
  REQUIRE(decoded[0] / total == Approx(clip).epsilon(1e-9));  // no wrap-around at the extreme
}

TEST_CASE("neighbour graph: symmetric, fixed degree, the same for everyone with the same seed", "[secagg-graph]") {
  std::vector<std::string> sites;
  for (int i = 0; i < 50; ++i) sites.push_back("site-" + std::to_string(i));
  const int k = NeighbourGraph::recommended_degree(50);
  REQUIRE(k == 14);
  NeighbourGraph g(sites, k, "seed-1");
  NeighbourGraph same(std::vector<std::string>(sites.rbegin(), sites.rend()), k, "seed-1");
  NeighbourGraph other(sites, k, "seed-2");
  bool differs = false;
  for (const auto& s : sites) {
    const auto& n = g.neighbours(s);
    REQUIRE(int(n.size()) == k);
    REQUIRE(std::find(n.begin(), n.end(), s) == n.end());
    for (const auto& v : n) REQUIRE(g.are_neighbours(v, s));
    REQUIRE(same.neighbours(s) == n);
    differs = differs || other.neighbours(s) != n;
  }
  REQUIRE(differs);
  NeighbourGraph complete({"a", "b", "c", "d"}, 10, "x");
  REQUIRE(complete.neighbours("a") == std::vector<std::string>{"b", "c", "d"});
  REQUIRE_THROWS(g.neighbours("site-99"));
}

TEST_CASE("key signatures: verified against the consortium CA and the claimed site name", "[secagg-crypto]") {
  auto ca = CertificateAuthority::create("test", 30);
  auto other_ca = CertificateAuthority::create("test", 30);
  const std::string key = generate_private_key_pem();
  const std::string cert = ca.issue(key, {"site-a", "site", {}, false, 30});
  const std::string admin_key = generate_private_key_pem();
  const std::string admin = ca.issue(admin_key, {"site-a", "admin", {}, false, 30});
  const std::string foreign = other_ca.issue(key, {"site-a", "site", {}, false, 30});
  const std::string sig = sign_with_key(key, "keys");
  REQUIRE(check_site_signature(ca.certificate_pem(), cert, "site-a", "keys", sig).empty());
  REQUIRE_THAT(check_site_signature(ca.certificate_pem(), cert, "site-a", "keyz", sig),
               Catch::Contains("does not verify"));
  REQUIRE_THAT(check_site_signature(ca.certificate_pem(), cert, "site-b", "keys", sig),
               Catch::Contains("certificate of site 'site-a'"));
  REQUIRE_THAT(check_site_signature(ca.certificate_pem(), foreign, "site-a", "keys", sig),
               Catch::Contains("does not chain"));
  REQUIRE_THAT(check_site_signature(ca.certificate_pem(), admin, "site-a", "keys",
                                    sign_with_key(admin_key, "keys")),
               Catch::Contains("admin"));
}

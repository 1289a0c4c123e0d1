// Simulated sites get whole patients: IID or Dirichlet label skew, deterministic per seed.
#include <catch2/catch.hpp>

#include <map>
#include <set>

#include "data/dataset_partition.h"

using namespace fedxray;

namespace {

// 300 images of 120 patients (1-4 images each), two classes by patient.
ImagePool pool_of_patients() {
  ImagePool pool;
  pool.images.image_size = 1;
  for (int p = 0; p < 120; ++p) {
    for (int k = 0; k <= p % 4; ++k) {
      pool.images.pixels.push_back(float(pool.images.count()));
      pool.images.labels.push_back(p % 3 == 0 ? 1 : 0);
      pool.patients.push_back("patient-" + std::to_string(p));
    }
  }
  return pool;
}

}  // namespace

TEST_CASE("every patient lands on exactly one simulated site, all images kept", "[partition]") {
  ImagePool pool = pool_of_patients();
  for (std::string scheme : {"iid", "dirichlet"}) {
    INFO(scheme);
    auto sites = partition_by_patient(pool, 4, scheme, 0.3, 17);
    REQUIRE(sites.size() == 4);
    std::map<std::string, int> site_of;
    std::size_t images = 0;
    for (int s = 0; s < 4; ++s) {
      CHECK(sites[std::size_t(s)].images.count() > 0);
      images += sites[std::size_t(s)].images.count();
      for (const auto& p : sites[std::size_t(s)].patients) {
        auto [it, fresh] = site_of.emplace(p, s);
        CHECK(it->second == s);
      }
    }
    CHECK(images == pool.images.count());
    CHECK(site_of.size() == 120);
  }
}

TEST_CASE("a small Dirichlet alpha skews labels across sites, the seed fixes the split", "[partition]") {
  ImagePool pool = pool_of_patients();
  auto a = partition_by_patient(pool, 3, "dirichlet", 0.1, 4);
  auto b = partition_by_patient(pool, 3, "dirichlet", 0.1, 4);
  double lowest = 1, highest = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    CHECK(a[s].patients == b[s].patients);
    double positives = 0;
    for (auto l : a[s].images.labels) positives += double(l);
    const double share = positives / double(a[s].images.count());
    lowest = std::min(lowest, share);
    highest = std::max(highest, share);
  }
  CHECK(highest - lowest > 0.3);  // the pool is 1/3 positive; skewed sites differ a lot
}

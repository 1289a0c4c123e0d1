#include "data/dataset_partition.h"

#include <algorithm>
#include <map>
#include <random>

#include "base/error.h"

namespace fedxray {
namespace {

using Units = std::vector<const std::vector<std::size_t>*>;  // one unit = one patient's images

std::vector<Units> assign_iid(Units units, int sites, std::mt19937_64& rng) {
  std::shuffle(units.begin(), units.end(), rng);
  std::vector<Units> out(static_cast<std::size_t>(sites));
  for (std::size_t k = 0; k < units.size(); ++k) out[k % std::size_t(sites)].push_back(units[k]);
  return out;
}

std::vector<Units> assign_dirichlet(const std::map<int64_t, Units>& by_class, int sites,
                                    double alpha, std::mt19937_64& rng) {
  std::vector<Units> out(static_cast<std::size_t>(sites));
  std::gamma_distribution<double> gamma(alpha, 1.0);
  for (auto [label, units] : by_class) {
    std::shuffle(units.begin(), units.end(), rng);
    std::vector<double> share(static_cast<std::size_t>(sites));
    double total = 0;
    for (auto& p : share) total += (p = gamma(rng) + 1e-12);
    std::size_t start = 0;
    double cumulative = 0;
    for (int s = 0; s < sites; ++s) {
      cumulative += share[std::size_t(s)] / total;
      std::size_t end = s == sites - 1 ? units.size()
                                       : std::size_t(cumulative * double(units.size()) + 0.5);
      end = std::clamp(end, start, units.size());
      out[std::size_t(s)].insert(out[std::size_t(s)].end(), units.begin() + long(start),
                                 units.begin() + long(end));
      start = end;
    }
  }
  return out;
}

}  // namespace

std::vector<ImagePool> partition_by_patient(const ImagePool& pool, int sites,
                                            const std::string& scheme, double alpha, uint64_t seed) {
  std::map<std::string, std::vector<std::size_t>> patients;
  for (std::size_t i = 0; i < pool.images.count(); ++i) patients[pool.patients[i]].push_back(i);
  if (int(patients.size()) < sites) {
    throw Error("cannot split " + std::to_string(patients.size()) + " patients across " +
                std::to_string(sites) + " sites");
  }
  Units units;
  std::map<int64_t, Units> by_class;
  for (const auto& [key, idx] : patients) {
    units.push_back(&idx);
    by_class[pool.images.labels[idx.front()]].push_back(&idx);
  }
  std::mt19937_64 rng(seed);
  std::vector<Units> assigned = scheme == "dirichlet" ? assign_dirichlet(by_class, sites, alpha, rng)
                                                      : assign_iid(units, sites, rng);
  for (auto& site : assigned) {  // every site gets someone: take from the largest
    if (!site.empty()) continue;
    auto largest = std::max_element(assigned.begin(), assigned.end(),
                                    [](const Units& a, const Units& b) { return a.size() < b.size(); });
    site.push_back(largest->back());
    largest->pop_back();
  }
  std::vector<ImagePool> out(static_cast<std::size_t>(sites));
  for (std::size_t s = 0; s < out.size(); ++s) {
    out[s].images.image_size = pool.images.image_size;
    for (const auto* idx : assigned[s]) {
      for (std::size_t i : *idx) {
        out[s].images.append(pool.images, i);
        out[s].patients.push_back(pool.patients[i]);
      }
    }
  }
  return out;
}

}  // namespace fedxray

#include "site-agent/dataset_partition.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

namespace fedxray {
namespace {

std::vector<ImageSet> empty_sets(const ImageSet& pool, int sites) {
  std::vector<ImageSet> out(static_cast<std::size_t>(sites));
  for (auto& s : out) s.image_size = pool.image_size;
  return out;
}

// Moves single images from the largest site to any empty one.
void ensure_nonempty(std::vector<ImageSet>& sets, const ImageSet& pool,
                     std::vector<std::vector<std::size_t>>& members) {
  for (std::size_t s = 0; s < members.size(); ++s) {
    if (!members[s].empty()) continue;
    auto largest = std::max_element(members.begin(), members.end(),
                                    [](const auto& a, const auto& b) { return a.size() < b.size(); });
    members[s].push_back(largest->back());
    largest->pop_back();
  }
  for (std::size_t s = 0; s < members.size(); ++s) {
    for (std::size_t i : members[s]) sets[s].append(pool, i);
  }
}

}  // namespace

std::vector<ImageSet> partition_iid(const ImageSet& pool, int sites, uint64_t seed) {
  std::vector<std::size_t> order(pool.count());
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(sites));
  for (std::size_t k = 0; k < order.size(); ++k) members[k % std::size_t(sites)].push_back(order[k]);
  auto out = empty_sets(pool, sites);
  ensure_nonempty(out, pool, members);
  return out;
}

std::vector<ImageSet> partition_dirichlet(const ImageSet& pool, int sites, double alpha,
                                          uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::map<int64_t, std::vector<std::size_t>> by_class;
  for (std::size_t i = 0; i < pool.count(); ++i) by_class[pool.labels[i]].push_back(i);
  std::vector<std::vector<std::size_t>> members(static_cast<std::size_t>(sites));
  std::gamma_distribution<double> gamma(alpha, 1.0);
  for (auto& [label, idx] : by_class) {
    std::shuffle(idx.begin(), idx.end(), rng);
    std::vector<double> share(static_cast<std::size_t>(sites));
    double total = 0;
    for (auto& p : share) total += (p = gamma(rng) + 1e-12);
    std::size_t start = 0;
    double cumulative = 0;
    for (int s = 0; s < sites; ++s) {
      cumulative += share[std::size_t(s)] / total;
      std::size_t end = s == sites - 1 ? idx.size() : std::size_t(cumulative * double(idx.size()) + 0.5);
      end = std::clamp(end, start, idx.size());
      members[std::size_t(s)].insert(members[std::size_t(s)].end(), idx.begin() + long(start),
                                     idx.begin() + long(end));
      start = end;
    }
  }
  auto out = empty_sets(pool, sites);
  ensure_nonempty(out, pool, members);
  return out;
}

}  // namespace fedxray

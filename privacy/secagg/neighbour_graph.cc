#include "privacy/secagg/neighbour_graph.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "base/error.h"
#include "base/sha256.h"

namespace fedxray {

NeighbourGraph::NeighbourGraph(std::vector<std::string> sites, int k, const std::string& round_seed)
    : sites_(std::move(sites)) {
  std::sort(sites_.begin(), sites_.end());
  if (std::adjacent_find(sites_.begin(), sites_.end()) != sites_.end()) {
    throw Error("neighbour graph: a site is listed twice");
  }
  const int n = int(sites_.size());
  if (k < 1) throw Error("neighbour graph: degree must be at least 1");
  // In 64 bits: k comes from the wire (SecAggRoundParams.neighbours) and may be INT_MAX.
  degree_ = int(std::min<int64_t>(int64_t(n) - 1, int64_t(k) + k % 2));
  // A permutation anyone can recompute: positions ordered by SHA-256(seed || name).
  std::vector<std::pair<std::string, int>> order;
  for (int i = 0; i < n; ++i) {
    const std::string key = round_seed + "\n" + sites_[std::size_t(i)];
    order.emplace_back(Sha256::of(key.data(), key.size()), i);
  }
  std::sort(order.begin(), order.end());
  std::vector<int> ring;  // ring position -> index into sites_
  for (const auto& o : order) ring.push_back(o.second);
  neighbours_.assign(std::size_t(n), {});
  for (int p = 0; p < n; ++p) {
    std::vector<std::string>& mine = neighbours_[std::size_t(ring[std::size_t(p)])];
    if (degree_ >= n - 1) {
      for (int q = 0; q < n; ++q) {
        if (q != ring[std::size_t(p)]) mine.push_back(sites_[std::size_t(q)]);
      }
    } else {
      for (int d = 1; d <= degree_ / 2; ++d) {
        mine.push_back(sites_[std::size_t(ring[std::size_t((p + d) % n)])]);
        mine.push_back(sites_[std::size_t(ring[std::size_t((p - d + n) % n)])]);
      }
    }
    std::sort(mine.begin(), mine.end());
    mine.erase(std::unique(mine.begin(), mine.end()), mine.end());
  }
}

const std::vector<std::string>& NeighbourGraph::neighbours(const std::string& site) const {
  auto it = std::lower_bound(sites_.begin(), sites_.end(), site);
  if (it == sites_.end() || *it != site) throw Error("site '" + site + "' is not in this round");
  return neighbours_[std::size_t(it - sites_.begin())];
}

bool NeighbourGraph::are_neighbours(const std::string& a, const std::string& b) const {
  const auto& n = neighbours(a);
  return std::binary_search(n.begin(), n.end(), b);
}

int NeighbourGraph::recommended_degree(int n) {
  if (n <= 1) return 1;
  const int k = 2 * int(std::ceil(std::log2(double(n)))) + 2;
  return std::min(n - 1, k);
}

}  // namespace fedxray

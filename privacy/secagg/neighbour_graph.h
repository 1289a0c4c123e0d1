// The sparse communication graph of SecAgg+ (Bell et al., CCS 2020): instead of every pair of
// sites sharing a mask, each site pairs with `k` neighbours, so a site's cost grows with k (chosen
// ~ log n), not n. The graph is a Harary graph (sites on a ring, each joined to the k/2 nearest on
// either side) over a random permutation of the sites drawn from a public round seed, so the
// coordinator and every site compute the same graph and nobody can choose their neighbours.
// k >= n - 1 gives the complete graph of the original protocol (Bonawitz et al., CCS 2017).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fedxray {

class NeighbourGraph {
 public:
  // sites: the round's participants (any order; they are sorted). k is rounded up to even and
  // capped at n - 1.
  NeighbourGraph(std::vector<std::string> sites, int k, const std::string& round_seed);

  // The sites `site` shares masks and secrets with (sorted, never itself). Throws for a site
  // that is not in the graph.
  const std::vector<std::string>& neighbours(const std::string& site) const;
  bool are_neighbours(const std::string& a, const std::string& b) const;
  int degree() const { return degree_; }
  const std::vector<std::string>& sites() const { return sites_; }

  // Neighbours for n sites at which a random Harary graph stays connected after random drops
  // with high probability: 2 * ceil(log2 n) + 2, capped at n - 1.
  static int recommended_degree(int n);

 private:
  std::vector<std::string> sites_;
  std::vector<std::vector<std::string>> neighbours_;
  int degree_ = 0;
};

}  // namespace fedxray

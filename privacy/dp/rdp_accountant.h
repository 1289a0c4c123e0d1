// Rényi-DP accountant for the (subsampled) Gaussian mechanism.
//
// One step of the mechanism: a record (here: a whole site, for client-level DP-FedAvg) is in
// the step's sample with probability q, its contribution is clipped to L2 norm C and Gaussian
// noise of standard deviation z * C is added to the sum (z = noise multiplier). Its Rényi DP at
// integer order a is (Mironov, Talwar, Zhang 2019, "Rényi Differential Privacy of the Sampled
// Gaussian Mechanism", Sec. 3.3):
//   RDP(a) = 1/(a-1) * log sum_{k=0..a} C(a,k) (1-q)^(a-k) q^k exp((k^2 - k) / (2 z^2)),
// which is a / (2 z^2) for q = 1. Steps compose by adding RDP at each order; (eps, delta) is
// the best over orders of the conversion of Canonne, Kamath and Steinke (2020) / Balle et al.
// (2020):  eps = RDP(a) + log((a-1)/a) - (log delta + log a) / (a - 1).
// Integer orders 2..256 are tracked, which gives a valid (slightly conservative) bound.
//
// The accumulated RDP curve is the state: it serialises to a line of numbers, so a site can keep
// its lifetime spending on disk and add later jobs to it.
#pragma once

#include <string>
#include <vector>

namespace fedxray {

class RdpAccountant {
 public:
  RdpAccountant();

  // Adds `steps` steps of the sampled Gaussian mechanism with sampling rate q in [0, 1] and
  // noise multiplier z > 0.
  void add_sampled_gaussian(double q, double noise_multiplier, int steps = 1);
  // Adds everything another accountant has spent (e.g. one job onto a lifetime budget).
  void add(const RdpAccountant& other);

  struct Spent {
    double epsilon = 0;
    double delta = 0;
    int order = 0;  // the order that gave the bound
  };
  Spent epsilon(double delta) const;

  const std::vector<int>& orders() const { return orders_; }
  const std::vector<double>& rdp() const { return rdp_; }

  // "rdp-v1 <rdp at order 2> ... <rdp at order 256>"; parse throws Error on anything else.
  std::string serialize() const;
  static RdpAccountant parse(const std::string& text);

  // RDP of one step at integer order `order` >= 2.
  static double sampled_gaussian_rdp(double q, double noise_multiplier, int order);

 private:
  std::vector<int> orders_;
  std::vector<double> rdp_;
};

}  // namespace fedxray

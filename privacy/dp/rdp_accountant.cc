#include "privacy/dp/rdp_accountant.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "base/error.h"

namespace fedxray {
namespace {

constexpr int kMinOrder = 2, kMaxOrder = 256;

double log_add(double a, double b) {  // log(e^a + e^b) without overflow
  if (a == -INFINITY) return b;
  if (b == -INFINITY) return a;
  const double hi = std::max(a, b), lo = std::min(a, b);
  return hi + std::log1p(std::exp(lo - hi));
}

}  // namespace

RdpAccountant::RdpAccountant() {
  for (int a = kMinOrder; a <= kMaxOrder; ++a) orders_.push_back(a);
  rdp_.assign(orders_.size(), 0.0);
}

double RdpAccountant::sampled_gaussian_rdp(double q, double z, int order) {
  if (!(q >= 0 && q <= 1)) throw Error("sampling rate must be in [0, 1], got " + std::to_string(q));
  if (!(z > 0)) throw Error("noise multiplier must be > 0, got " + std::to_string(z));
  if (order < 2) throw Error("RDP orders start at 2");
  if (q == 0) return 0.0;
  const double a = order;
  if (q == 1) return a / (2 * z * z);
  // log A_a = logsumexp_k [log C(a,k) + k log q + (a-k) log(1-q) + (k^2 - k) / (2 z^2)]
  double log_a = -INFINITY;
  for (int k = 0; k <= order; ++k) {
    const double log_binomial = std::lgamma(a + 1) - std::lgamma(k + 1.0) - std::lgamma(a - k + 1);
    const double term = log_binomial + k * std::log(q) + (a - k) * std::log1p(-q) +
                        (double(k) * k - k) / (2 * z * z);
    log_a = log_add(log_a, term);
  }
  return log_a / (a - 1);
}

void RdpAccountant::add_sampled_gaussian(double q, double noise_multiplier, int steps) {
  if (steps < 0) throw Error("steps must be >= 0");
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    rdp_[i] += steps * sampled_gaussian_rdp(q, noise_multiplier, orders_[i]);
  }
}

void RdpAccountant::add(const RdpAccountant& other) {
  for (std::size_t i = 0; i < rdp_.size(); ++i) rdp_[i] += other.rdp_[i];
}

RdpAccountant::Spent RdpAccountant::epsilon(double delta) const {
  if (!(delta > 0 && delta < 1)) throw Error("delta must be in (0, 1), got " + std::to_string(delta));
  Spent best{std::numeric_limits<double>::infinity(), delta, 0};
  for (std::size_t i = 0; i < orders_.size(); ++i) {
    const double a = orders_[i];
    const double eps = rdp_[i] + std::log((a - 1) / a) - (std::log(delta) + std::log(a)) / (a - 1);
    if (eps < best.epsilon) best = {std::max(0.0, eps), delta, orders_[i]};
  }
  return best;
}

std::string RdpAccountant::serialize() const {
  std::ostringstream out;
  out.precision(17);
  out << "rdp-v1";
  for (double r : rdp_) out << ' ' << r;
  return out.str();
}

RdpAccountant RdpAccountant::parse(const std::string& text) {
  std::istringstream in(text);
  std::string tag;
  in >> tag;
  if (tag != "rdp-v1") throw Error("not a privacy budget record (expected 'rdp-v1 ...')");
  RdpAccountant a;
  for (double& r : a.rdp_) {
    if (!(in >> r) || !(r >= 0)) throw Error("privacy budget record is truncated or corrupt");
  }
  std::string extra;
  if (in >> extra) throw Error("privacy budget record has trailing data");
  return a;
}

}  // namespace fedxray

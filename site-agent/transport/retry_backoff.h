// RetryBackoff: how long to wait before the next attempt to reach a peer that is away.
//
// Exponential backoff with jitter: attempt k waits a uniformly random time in [d/2, d] with
// d = min(cap, base * 2^k), so sites that lost the coordinator at the same moment do not all
// come back at the same instant. reset() after a success.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>

namespace fedxray {

class RetryBackoff {
 public:
  explicit RetryBackoff(std::chrono::milliseconds base = std::chrono::milliseconds(200),
                        std::chrono::milliseconds cap = std::chrono::milliseconds(10000))
      : base_(base), cap_(cap), rng_(std::random_device{}()) {}

  std::chrono::milliseconds next() {
    const double d = std::min<double>(double(cap_.count()),
                                      double(base_.count()) * double(1ull << std::min(attempt_, 30)));
    ++attempt_;
    std::uniform_real_distribution<double> jitter(d / 2, d);
    return std::chrono::milliseconds(int64_t(jitter(rng_)));
  }
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds base_;
  std::chrono::milliseconds cap_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace fedxray

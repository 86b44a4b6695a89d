#pragma once
/// Capped exponential backoff with jitter, for reconnects.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace caliper_sessiond::store {

class backoff {
public:
  backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, std::uint32_t seed)
      : min_(min), max_(std::max(min, max)), current_(min), rng_(seed) {}

  /// The next delay: a random value in [d/2, d] where d doubles from min up to max.
  std::chrono::milliseconds next() {
    const auto d = current_;
    current_ = std::min(max_, current_ * 2);
    std::uniform_int_distribution<std::int64_t> jitter(d.count() / 2, d.count());
    return std::chrono::milliseconds(jitter(rng_));
  }

  void reset() noexcept { current_ = min_; }

private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  std::chrono::milliseconds current_;
  std::minstd_rand rng_;
};

}  // namespace caliper_sessiond::store

#include "caliper_sessiond/metrics/log_throttle.hpp"

namespace caliper_sessiond::metrics {

std::optional<std::uint64_t> log_throttle::occur(clock::time_point now) {
  std::lock_guard lock(mutex_);
  ++held_;
  if (last_ && now - *last_ < interval_) return std::nullopt;
  last_ = now;
  const std::uint64_t n = held_;
  held_ = 0;
  return n;
}

std::uint64_t log_throttle::pending() const {
  std::lock_guard lock(mutex_);
  return held_;
}

}  // namespace caliper_sessiond::metrics

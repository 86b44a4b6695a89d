#pragma once
/// One log line per interval for a warning that can repeat without bound (a hostile client can
/// make the same refusal thousands of times a second): the first occurrence is logged at once,
/// later ones within the interval are only counted and reported with the next line.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>

namespace caliper_sessiond::metrics {

class log_throttle {
public:
  using clock = std::chrono::steady_clock;

  explicit log_throttle(clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  /// Records one occurrence at `now`. When a line is due, returns how many occurrences it
  /// stands for (1, or more when earlier ones were held back); nullopt while held back.
  /// Thread-safe.
  std::optional<std::uint64_t> occur(clock::time_point now = clock::now());

  /// Occurrences held back and not yet reported (reported by the next due occur()).
  std::uint64_t pending() const;

private:
  clock::duration interval_;
  mutable std::mutex mutex_;
  std::optional<clock::time_point> last_;
  std::uint64_t held_ = 0;
};

}  // namespace caliper_sessiond::metrics

#pragma once
/// Gives the memory the allocator holds free back to the system, every
/// server.memory_trim_interval_ms, on its own thread. glibc's free() returns memory only from
/// the top of a heap, so after a burst (1,000 connections closing, a database outage's backlog
/// drained) the process would keep its peak size: the live blocks left scattered over the heap
/// pin the free pages between them. malloc_trim(0) releases those pages too (MADV_DONTNEED on
/// every whole free page of every arena). Under steady load it finds little to release.

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "periodic_thread.hpp"

namespace caliper_sessiond::app {

/// What the trims did so far, for /metrics.
struct memory_trim_stats {
  std::atomic<std::uint64_t> runs{0};
  std::atomic<std::uint64_t> micros{0};  ///< time spent in malloc_trim
};

class memory_trimmer {
public:
  /// every == 0: never trims, starts no thread.
  explicit memory_trimmer(std::chrono::milliseconds every) {
    if (every.count() > 0)
      thread_.emplace("memory-trim", every, periodic_thread::first_run::after_interval, [this] { trim(); });
  }

  bool running() const noexcept { return thread_.has_value(); }
  const memory_trim_stats& stats() const noexcept { return stats_; }

private:
  void trim() {
    const auto start = std::chrono::steady_clock::now();
    ::malloc_trim(0);
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    stats_.micros.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
    stats_.runs.fetch_add(1, std::memory_order_release);
  }

  memory_trim_stats stats_;
  std::optional<periodic_thread> thread_;  ///< last: starts once everything above is ready
};

}  // namespace caliper_sessiond::app

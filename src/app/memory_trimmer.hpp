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
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "caliper_sessiond/metrics/thread_name.hpp"

namespace caliper_sessiond::app {

/// What the trims did so far, for /metrics.
struct memory_trim_stats {
  std::atomic<std::uint64_t> runs{0};
  std::atomic<std::uint64_t> micros{0};  ///< time spent in malloc_trim
};

class memory_trimmer {
public:
  /// every == 0: never trims, starts no thread.
  explicit memory_trimmer(std::chrono::milliseconds every) : every_(every) {
    if (every_.count() <= 0) return;
    thread_ = std::thread([this] { run(); });
    metrics::name_thread(thread_, "memory-trim");
  }
  ~memory_trimmer() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  memory_trimmer(const memory_trimmer&) = delete;
  memory_trimmer& operator=(const memory_trimmer&) = delete;

  bool running() const noexcept { return thread_.joinable(); }
  const memory_trim_stats& stats() const noexcept { return stats_; }

private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, every_, [this] { return stop_; })) {
      lock.unlock();
      const auto start = std::chrono::steady_clock::now();
      ::malloc_trim(0);
      const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
      stats_.micros.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
      stats_.runs.fetch_add(1, std::memory_order_release);
      lock.lock();
    }
  }

  std::chrono::milliseconds every_;
  memory_trim_stats stats_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  ///< last: starts once everything above is ready
};

}  // namespace caliper_sessiond::app

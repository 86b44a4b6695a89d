#pragma once
/// A named thread that runs a piece of work periodically until it is destroyed: the stop flag,
/// its condition variable and the join that the server's background loops (maintenance, memory
/// trim) would each write again.

#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "caliper_sessiond/metrics/thread_name.hpp"

namespace caliper_sessiond::app {

class periodic_thread {
public:
  enum class first_run { at_start, after_interval };

  /// Runs `work` every `every` on a thread named `name` (first at once, or after one interval).
  /// Destruction wakes the thread and joins it; a run in progress finishes first.
  periodic_thread(std::string_view name, std::chrono::milliseconds every, first_run first, std::function<void()> work)
      : name_(name.substr(0, 15)), every_(every), work_(std::move(work)), thread_([this, first] { run(first); }) {
    metrics::name_thread(thread_, name_);  // there before the creator goes on
  }
  ~periodic_thread() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  periodic_thread(const periodic_thread&) = delete;
  periodic_thread& operator=(const periodic_thread&) = delete;

private:
  void run(first_run first) {
    // Also named from inside: the creator's call may come after the first run has begun.
    pthread_setname_np(pthread_self(), name_.c_str());
    std::unique_lock lock(mutex_);
    if (first == first_run::after_interval && cv_.wait_for(lock, every_, [this] { return stop_; })) return;
    while (!stop_) {
      lock.unlock();
      work_();
      lock.lock();
      cv_.wait_for(lock, every_, [this] { return stop_; });
    }
  }

  std::string name_;
  std::chrono::milliseconds every_;
  std::function<void()> work_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  ///< last: starts once everything above is ready
};

}  // namespace caliper_sessiond::app

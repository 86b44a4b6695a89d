#pragma once
/// Runs the database maintenance (partitions ahead, retention) at start and then periodically,
/// on its own thread, so neither the I/O threads nor the writer wait for it.

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "caliper_sessiond/store/maintenance.hpp"

namespace caliper_sessiond::app {

class maintenance_loop {
public:
  maintenance_loop(std::string url, int months_ahead, int retention_months, std::chrono::minutes every)
      : url_(std::move(url)), ahead_(months_ahead), retention_(retention_months), every_(every),
        thread_([this] { run(); }) {}
  ~maintenance_loop() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  maintenance_loop(const maintenance_loop&) = delete;
  maintenance_loop& operator=(const maintenance_loop&) = delete;

private:
  void run() {
    std::unique_lock lock(mutex_);
    while (!stop_) {
      lock.unlock();
      const auto r = store::run_maintenance(url_, ahead_, retention_);
      if (!r.ok) spdlog::warn("maintenance: {} (retried in {} min)", r.error, every_.count());
      for (const auto& a : r.actions) spdlog::info("maintenance: {}", a);
      lock.lock();
      cv_.wait_for(lock, every_, [this] { return stop_; });
    }
  }

  std::string url_;
  int ahead_, retention_;
  std::chrono::minutes every_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  ///< last: starts once everything above is ready
};

}  // namespace caliper_sessiond::app

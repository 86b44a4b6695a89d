#pragma once
/// Runs the database maintenance (partitions ahead, retention) at start and then periodically,
/// on its own thread, so neither the I/O threads nor the writer wait for it.

#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

#include "caliper_sessiond/store/maintenance.hpp"
#include "periodic_thread.hpp"

namespace caliper_sessiond::app {

/// What the runs did so far, for /metrics.
struct maintenance_stats {
  std::atomic<std::uint64_t> partitions_created{0};
  std::atomic<std::uint64_t> cap_hits{0};         ///< runs that reached partitions_max_per_run
  std::atomic<std::int64_t> deferred_months{0};   ///< months the last run left for a later one
};

class maintenance_loop {
public:
  maintenance_loop(std::string url, store::maintenance_options options, std::chrono::minutes every)
      : url_(std::move(url)),
        options_(options),
        every_(every),
        thread_("maintenance", every, periodic_thread::first_run::at_start, [this] { run_once(); }) {}

  const maintenance_stats& stats() const noexcept { return stats_; }

private:
  void run_once() {
    const auto r = store::run_maintenance(url_, options_);
    if (!r.ok) spdlog::warn("maintenance: {} (retried in {} min)", r.error, every_.count());
    for (const auto& a : r.actions) spdlog::info("maintenance: {}", a);
    stats_.partitions_created.fetch_add(static_cast<std::uint64_t>(r.created));
    if (r.ok) stats_.deferred_months.store(r.deferred_months);
    if (r.deferred_months > 0) {
      stats_.cap_hits.fetch_add(1);
      spdlog::warn("maintenance: created the most partitions one run may (database.partitions_max_per_run = {}); {} "
                   "more months wait in the default partition for the next runs, every {} min",
                   options_.max_new_partitions, r.deferred_months, every_.count());
    }
  }

  std::string url_;
  store::maintenance_options options_;
  std::chrono::minutes every_;
  maintenance_stats stats_;
  periodic_thread thread_;  ///< last: starts once everything above is ready
};

}  // namespace caliper_sessiond::app

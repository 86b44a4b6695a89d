#pragma once
/// Periodic upkeep of caliper.session_events: monthly partitions ahead of time, and retention.
/// Runs the SQL functions of sql/002_partitions.sql, so psql or cron can do the same.

#include <string>
#include <vector>

namespace caliper_sessiond::store {

struct maintenance_result {
  bool ok = false;
  std::vector<std::string> actions;  ///< one line per partition created, skipped or dropped
  std::string error;                 ///< set when !ok (actions done before it stay done)
};

/// Connects to `url` and runs caliper.ensure_partitions(months_ahead), then, when
/// retention_months > 0, caliper.drop_old_partitions(retention_months): partitions wholly
/// older than the last retention_months months (UTC, this month counts) are dropped.
/// 0 turns retention off. Each step is its own transaction with lock_timeout 5s; a step
/// that cannot get its lock is skipped and reported in `actions`, to be retried next run.
/// Blocking: call it from a thread that may wait (at start, then hourly).
maintenance_result run_maintenance(const std::string& url, int months_ahead, int retention_months);

}  // namespace caliper_sessiond::store

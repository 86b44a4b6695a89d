#pragma once
/// Periodic upkeep of caliper.session_events: monthly partitions ahead of time, and retention.
/// Runs the SQL functions of sql/002_partitions.sql and sql/006_partition_cap.sql, so psql or
/// cron can do the same.

#include <string>
#include <vector>

namespace caliper_sessiond::store {

struct maintenance_result {
  bool ok = false;
  std::vector<std::string> actions;  ///< one line per partition created, skipped or dropped
  std::string error;                 ///< set when !ok (actions done before it stay done)
  int created = 0;                   ///< partitions created by this run
  /// Months whose partition was left for a later run because max_new_partitions were created
  /// (0 when the cap was not reached); their rows wait in the default partition meanwhile.
  int deferred_months = 0;
};

/// What one maintenance run may do.
struct maintenance_options {
  int months_ahead = 3;         ///< partitions kept ready from this month on
  int retention_months = 0;     ///< drop months older than this; 0 keeps everything
  int max_new_partitions = 24;  ///< partitions created per run at most (the months ahead first)
};

/// Connects to `url` and runs caliper.ensure_partitions(months_ahead, max_new_partitions =>
/// ...), then, when retention_months > 0, caliper.drop_old_partitions(retention_months):
/// partitions wholly older than the last retention_months months (UTC, this month counts) are
/// dropped. Each step is its own transaction with lock_timeout 5s; a step that cannot get its
/// lock is skipped and reported in `actions`, to be retried next run.
/// Blocking: call it from a thread that may wait (at start, then periodically).
maintenance_result run_maintenance(const std::string& url, const maintenance_options& options);

}  // namespace caliper_sessiond::store

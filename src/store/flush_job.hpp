#pragma once
/// One flush: the items a writer thread took from the queue, what of them is committed so far,
/// and the statements that commit the rest. Progress survives a failed attempt, so a retry
/// after a reconnect only sends what is still pending and every item gets honest counts.

#include <optional>
#include <span>
#include <vector>

#include "batch_queue.hpp"
#include "batch_statement.hpp"
#include "pg_connection.hpp"

namespace caliper_sessiond::store {

class flush_job {
public:
  flush_job(std::vector<queued_item> items, batch_write_fn write);

  /// Commits everything pending: one statement when the data is clean; when the database
  /// refuses some row, bisects to find it, stores it as a reject and commits the others.
  /// Returns the error that stopped it (connection lost, ...): call again later.
  std::optional<pg::error> run(const pg::connection& conn);

  /// Completes every remaining item as committed with its counts (after run() succeeded).
  void complete_committed(writer_stats& stats);

  /// Completes as unavailable the items enqueued before `cutoff`.
  void fail_older_than(clock::time_point cutoff);
  void fail_all() { fail_older_than(clock::time_point::max()); }

  /// Enqueue time of the oldest item still waiting; nullopt when none is left.
  std::optional<clock::time_point> oldest() const noexcept;
  bool done() const noexcept { return !oldest(); }

  /// SessionEvents in this flush (for the batch-size histogram).
  std::size_t row_count() const noexcept;

private:
  enum class row_state : std::uint8_t { pending, inserted, duplicate, refused };

  struct item_state {
    queued_item item;
    std::vector<row_state> rows;
    std::vector<caliper::rejected_event> pending_rejects;  ///< not yet stored
    std::size_t rejects_stored = 0;
    bool finished = false;
  };

  /// Index of a pending row: (item, event).
  struct row_ref {
    std::size_t item;
    std::size_t event;
  };

  std::optional<pg::error> write(const pg::connection& conn, std::span<const row_ref> refs,
                                 bool with_rejects);
  std::optional<pg::error> bisect(const pg::connection& conn, std::span<const row_ref> refs);
  std::optional<pg::error> store_rejects(const pg::connection& conn);
  std::vector<row_ref> pending_rows() const;
  void mark_rejects_stored();
  void finish(item_state& s, outcome o, writer_stats* stats);

  std::vector<item_state> items_;
  batch_write_fn write_;
};

}  // namespace caliper_sessiond::store

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

/// Bytes of reason and of raw JSON kept in a minimal reject.
inline constexpr std::size_t minimal_reject_bytes = 1024;

/// What is kept of a reject the database refused even mended: its reason, saying so, and the
/// start of its raw JSON, each cut to minimal_reject_bytes and made storable.
caliper::rejected_event minimal_reject(const caliper::rejected_event& r, const pg::error& refusal);

class flush_job {
public:
  flush_job(std::vector<queued_item> items, batch_write_fn write);

  /// Commits everything pending: one statement when the data is clean; when the database
  /// refuses some row, bisects to find it, stores it as a reject and commits the others.
  /// A reject the database refuses is stored mended, else cut to a minimal form, else
  /// counted as dropped (writer_stats::rejects_dropped) and logged: never lost silently.
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
  enum class reject_state : std::uint8_t { pending, stored, dropped };

  struct item_state {
    queued_item item;
    std::vector<row_state> rows;
    std::vector<caliper::rejected_event> rejects;  ///< the request's, then its refused rows
    std::vector<reject_state> reject_states;       ///< one per reject
    bool finished = false;
  };

  /// Index of a pending event or reject: (item, index in its events or rejects).
  struct ref {
    std::size_t item;
    std::size_t index;
  };

  std::optional<pg::error> write(const pg::connection& conn, std::span<const ref> rows,
                                 std::span<const ref> rejects);
  std::optional<pg::error> bisect(const pg::connection& conn, std::span<const ref> rows);
  std::optional<pg::error> store_rejects(const pg::connection& conn);
  std::optional<pg::error> bisect_rejects(const pg::connection& conn, std::span<const ref> rejects,
                                          std::size_t& dropped, pg::error& last);
  /// The pending entries of `states` (rows or reject_states) in unfinished items.
  template <typename State>
  std::vector<ref> pending(std::vector<State> item_state::*states) const;
  std::vector<ref> pending_rows() const;
  std::vector<ref> pending_rejects() const;
  void add_reject(item_state& s, caliper::rejected_event r);
  void finish(item_state& s, outcome o, writer_stats* stats);

  std::vector<item_state> items_;
  batch_write_fn write_;
};

}  // namespace caliper_sessiond::store

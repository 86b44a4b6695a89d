#pragma once
/// The writer's backlog: a FIFO of submitted batches, counted in rows, cut into flushes.
/// Not thread-safe: batch_writer guards it with its mutex. Pure, unit-tested on its own.

#include <chrono>
#include <cstddef>
#include <deque>
#include <optional>
#include <vector>

#include "caliper_sessiond/store/batch_writer.hpp"

namespace caliper_sessiond::store {

using clock = std::chrono::steady_clock;

/// One submit(): the request's rows and whom to tell when they are committed.
struct queued_item {
  ingest_batch batch;
  completion done;
  clock::time_point enqueued;

  std::size_t rows() const noexcept { return batch.events.size() + batch.rejects.size(); }
};

class batch_queue {
public:
  batch_queue(std::size_t max_rows, std::size_t flush_rows, std::chrono::microseconds flush_delay)
      : max_rows_(max_rows), flush_rows_(flush_rows), flush_delay_(flush_delay) {}

  /// Appends `item` unless that would take the backlog past max_rows (an item larger than
  /// max_rows on its own is taken when the queue is empty, else it could never be stored).
  bool try_push(queued_item&& item);

  bool empty() const noexcept { return items_.empty(); }
  std::size_t rows() const noexcept { return rows_; }
  std::size_t items() const noexcept { return items_.size(); }

  /// When the next flush is due: at once when flush_rows are waiting, else when the oldest
  /// item is flush_delay old. nullopt when empty.
  std::optional<clock::time_point> due_at() const noexcept;

  /// Enqueue time of the oldest item (its deadline is this plus the commit timeout).
  std::optional<clock::time_point> oldest() const noexcept;

  /// Removes the oldest items up to flush_rows rows (at least one item).
  std::vector<queued_item> take_batch();

  /// Removes every item enqueued before `cutoff`.
  std::vector<queued_item> take_older_than(clock::time_point cutoff);

  std::vector<queued_item> take_all();

private:
  std::deque<queued_item> items_;
  std::size_t rows_ = 0;
  std::size_t max_rows_;
  std::size_t flush_rows_;
  std::chrono::microseconds flush_delay_;
};

}  // namespace caliper_sessiond::store

#pragma once
/// The local journal (DESIGN section 4, durability "journal"): every request's events are
/// appended to a segment file and fsync'd before the request is answered 200; a drainer then
/// feeds the records to the database writer (from memory once fsync'd; from the files at
/// replay and after a rewind) and forgets them once committed.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "caliper_sessiond/store/event_sink.hpp"

namespace caliper_sessiond::journal {

struct journal_options {
  std::string dir = "/var/lib/caliper-sessiond/journal";
  std::uint64_t max_bytes = 1ull << 30;      ///< segment bytes on disk; past it submit refuses (503)
  std::uint64_t segment_bytes = 64ull << 20; ///< a new segment starts when the current one is this big
  std::size_t drain_inflight_events = 20'000;  ///< events handed to the writer and not yet committed
  std::chrono::milliseconds failure_backoff{1000};  ///< after a write or fsync error, refuse this long
  std::chrono::milliseconds checkpoint_interval{1000};  ///< how often the checkpoint file is rewritten
  /// Memory for durable batches not yet handed to the writer (estimated: record bytes plus the
  /// structs); past it the drainer reads them back from the segments.
  std::uint64_t memory_bytes = 64ull << 20;
  /// Committed segments are kept until their newest record is this old (0: deleted at once),
  /// for server_identity() to replay after a failover. Within max_bytes: retained segments are
  /// dropped first when the room is needed; they never make submit refuse.
  std::chrono::seconds retain{0};
};

/// Live counters, read by /metrics.
struct journal_stats {
  std::atomic<std::uint64_t> bytes{0};             ///< segment bytes on disk (and reserved)
  std::atomic<std::uint64_t> segments{0};
  std::atomic<std::uint64_t> records_appended{0};
  std::atomic<std::uint64_t> records_committed{0};  ///< confirmed committed by the writer
  /// Records the drainer read back from the segments (replay, rewind, past memory_bytes).
  std::atomic<std::uint64_t> records_read_from_disk{0};
  std::atomic<std::uint64_t> fsyncs{0};
  std::atomic<std::uint64_t> fsync_us_total{0};
  std::atomic<std::uint64_t> fsync_us_max{0};
  std::atomic<std::uint64_t> write_errors{0};
  std::atomic<std::uint64_t> corrupt_records{0};
  std::atomic<std::uint64_t> refused{0};            ///< submits refused (bound, failure, stopping)
  std::atomic<std::int64_t> oldest_uncommitted_us{0};  ///< received_at of the oldest record not committed; 0 none
  std::atomic<std::uint64_t> replay_total_bytes{0};    ///< bytes found after the checkpoint at start
  std::atomic<std::uint64_t> replay_remaining_bytes{0};
  std::atomic<std::uint64_t> retained_bytes{0};         ///< committed segments kept for a failover replay
  std::atomic<std::uint64_t> retained_dropped_bytes{0}; ///< retained bytes deleted early to make room
  std::atomic<std::uint64_t> failover_replays{0};       ///< times the retained window was sent again
  std::atomic<std::uint64_t> records_replayed{0};       ///< committed records sent again by those replays
};

class journal final : public store::event_sink {
public:
  /// Opens (creating) the directory, recovers what is there and starts appending and draining
  /// into `downstream`. Throws std::runtime_error when the directory cannot be used.
  journal(journal_options options, store::event_sink& downstream);
  ~journal();  ///< stop(0) if still running
  journal(const journal&) = delete;
  journal& operator=(const journal&) = delete;

  /// Refuses new work, writes and fsyncs what was accepted, then keeps draining until the
  /// journal is empty or `drain` has passed; then calls `stop_downstream` with the time left
  /// (it must return only once the downstream calls no more completions) and saves the
  /// checkpoint. What was not committed stays in the files for the next start.
  void stop(std::chrono::milliseconds drain,
            const std::function<void(std::chrono::milliseconds)>& stop_downstream = {});

  /// Appends the batch; `done(committed)` after the fsync that covers it, or
  /// `done(unavailable)` when the write fails. False at once at the size bound, after a
  /// recent write failure or while stopping.
  bool submit(store::ingest_batch batch, store::completion done) override;

  /// False at the size bound, after a recent write failure and while stopping.
  bool ready() const noexcept override;

  /// Tells the journal which database server the writer is connected to (an opaque identity:
  /// system identifier and timeline). When it differs from the last one seen (kept in the
  /// directory across restarts), every retained record still within `retain` is sent again:
  /// a promoted asynchronous standby may lack the old primary's last commits. Thread-safe.
  void server_identity(const std::string& identity);

  /// True when every record appended so far is committed downstream.
  bool drained() const;

  const journal_stats& stats() const noexcept;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::journal

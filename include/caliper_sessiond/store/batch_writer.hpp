#pragma once
/// Batches SessionEvents from every connection into one statement per batch (DESIGN section 6).
/// No libpq in this header: the http layer and the app include it.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::store {

/// What one request hands to the writer.
struct ingest_batch {
  std::string source;               ///< API key name, stored as `source`
  std::int64_t received_at_us = 0;  ///< microseconds since the Unix epoch
  std::vector<caliper::session_event> events;
  std::vector<caliper::rejected_event> rejects;
};

/// How a submitted batch ended.
enum class outcome : std::uint8_t {
  committed,    ///< every event and reject of the batch is committed (or was already there)
  unavailable,  ///< not committed in time: the caller answers 503
};

/// Counts of what was committed; `inserted` + `duplicates` = events committed.
/// Exact per request: the batch statement returns the keys it inserted. When one event is in
/// two requests of the same flush (or twice in one), the first in queue order counts it as
/// inserted and the other as a duplicate. An event the database refuses (bad data) is stored
/// in the rejects table instead and counted in `rejects`.
struct commit_report {
  std::size_t inserted = 0;
  std::size_t duplicates = 0;
  std::size_t rejects = 0;
};

/// Called once per submitted batch, on a writer thread: post back to your own executor.
using completion = std::function<void(outcome, const commit_report&)>;

struct writer_options {
  std::string database_url = "postgresql:///caliper";
  std::size_t connections = 1;                        ///< writer threads, one connection each
  std::size_t batch_max_events = 1000;                ///< flush when a batch holds this many rows
  std::chrono::microseconds batch_max_delay{2000};    ///< or when its oldest item is this old
  std::size_t queue_max_events = 100'000;             ///< submit refuses past this backlog
                                                      ///< (one bigger request when it is empty)
  std::chrono::milliseconds commit_timeout{10'000};   ///< give up on a batch (503) after this,
                                                      ///< counted from submit, checked between tries
  std::chrono::milliseconds reconnect_min{100};       ///< reconnect backoff doubles from this,
  std::chrono::milliseconds reconnect_max{5'000};     ///< up to this, each wait jittered to [d/2, d]
};

/// Live counters, read by /metrics and /readyz.
struct writer_stats {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> events_inserted{0};
  std::atomic<std::uint64_t> events_duplicate{0};
  std::atomic<std::uint64_t> rejects_stored{0};
  std::atomic<std::uint64_t> db_errors{0};
  std::atomic<std::uint64_t> queued_events{0};
  std::atomic<bool> connected{false};
};

class batch_writer {
public:
  explicit batch_writer(writer_options options);
  ~batch_writer();  ///< stops (drain 0) if still running
  batch_writer(const batch_writer&) = delete;
  batch_writer& operator=(const batch_writer&) = delete;

  /// Starts the writer threads; they connect in the background.
  void start();

  /// Stops taking work, flushes what it can within `drain`, fails the rest as unavailable.
  void stop(std::chrono::milliseconds drain);

  /// Queues a batch. Returns false at once, without calling `done`, when the queue is full,
  /// the database is unreachable or the writer is stopping: the caller answers 503.
  bool submit(ingest_batch batch, completion done);

  /// True while a connection is up and the queue has room.
  bool ready() const noexcept;

  const writer_stats& stats() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::store

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

#include "caliper_sessiond/store/event_sink.hpp"

namespace caliper_sessiond::store {

struct writer_options {
  std::string database_url = "postgresql:///caliper";
  std::size_t connections = 1;                        ///< writer threads, one connection each
  std::size_t batch_max_events = 1000;                ///< flush when a batch holds this many rows
  std::chrono::microseconds batch_max_delay{0};       ///< or when its oldest item is this old
  std::size_t queue_max_events = 100'000;             ///< submit refuses past this backlog
                                                      ///< (one bigger request when it is empty)
  std::chrono::milliseconds commit_timeout{10'000};   ///< give up on a batch (503) after this,
                                                      ///< counted from submit, checked between tries
  std::size_t text_key_cache_bytes = std::size_t{16} << 20;  ///< each thread's memory of caliper.texts' keys
  std::chrono::milliseconds reconnect_min{100};       ///< reconnect backoff doubles from this,
  std::chrono::milliseconds reconnect_max{5'000};
  /// Called on a writer thread after each committed flush: its rows and how long it took.
  std::function<void(std::size_t rows, std::chrono::nanoseconds elapsed)> on_flush;     ///< up to this, each wait jittered to [d/2, d]
  /// Called on a writer thread after each (re)connection, before it writes: the server's
  /// identity ("<system identifier>/<timeline>", "" when it cannot be read). A new value after
  /// another means a failover or another server (the journal replays its retained window).
  std::function<void(const std::string& identity)> on_server;
};

/// Live counters, read by /metrics and /readyz.
struct writer_stats {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> events_inserted{0};
  std::atomic<std::uint64_t> events_duplicate{0};
  std::atomic<std::uint64_t> rejects_stored{0};
  std::atomic<std::uint64_t> rejects_dropped{0};  ///< refused by the database even in minimal form
  std::atomic<std::uint64_t> db_errors{0};
  std::atomic<std::uint64_t> queued_events{0};
  std::atomic<bool> connected{false};
  std::atomic<std::uint64_t> server_changes{0};  ///< connections that found another server or timeline
  std::atomic<std::uint64_t> standby_refusals{0}; ///< connections dropped: the server was in recovery
  std::atomic<std::uint64_t> text_keys_asked{0};  ///< long texts whose key was asked of the database
  std::atomic<std::uint64_t> text_key_cache_resets{0};  ///< a thread's key memory forgot everything at its bound
  std::atomic<std::uint64_t> duplicate_retries{0};  ///< batches written again with ON CONFLICT: a resent event
};

class batch_writer final : public event_sink {
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
  bool submit(ingest_batch batch, completion done) override;

  /// True while a connection is up and the queue has room.
  bool ready() const noexcept override;

  const writer_stats& stats() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::store

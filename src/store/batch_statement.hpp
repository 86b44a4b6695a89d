#pragma once
/// The one statement per batch: every event row (ON CONFLICT DO NOTHING) and every reject,
/// in one transaction and one round trip (the writer's takes one more, before, when it meets
/// a text whose key it does not hold). Three implementations, measured by
/// bench/batch_statement: binary arrays with keys (the writer's), text arrays through
/// caliper.write_events, and COPY through a temp table.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "caliper_sessiond/caliper/session_event.hpp"
#include "pg_connection.hpp"
#include "text_key_cache.hpp"

namespace caliper_sessiond::store {

/// An event and what its request adds to the row.
struct event_row {
  const caliper::session_event* event;
  std::string_view source;
  std::int64_t received_at_us;
};

struct reject_row {
  std::string_view source;
  std::int64_t received_at_us;
  std::string_view reason;
  std::string_view raw;
};

/// A way to write a batch: write_with_arrays or write_with_copy.
using batch_write_fn = std::optional<pg::error> (*)(const pg::connection&, std::span<const event_row>,
                                                    std::span<const reject_row>, std::vector<bool>&);

/// Prepares the array statements (caliper.write_events, and the writer's two) on a new connection.
std::optional<pg::error> prepare_array_statement(const pg::connection& conn);

/// Inserts `rows` and `rejects` with caliper.write_events (one round trip; it finds the texts'
/// keys itself).
/// On success `inserted[i]` says whether rows[i] was new (false: already stored, or an
/// earlier row of the same batch had its key).
std::optional<pg::error> write_with_arrays(const pg::connection& conn,
                                           std::span<const event_row> rows,
                                           std::span<const reject_row> rejects,
                                           std::vector<bool>& inserted);

/// The writer's: the same rows with binary array parameters (uuid, timestamptz, text, int8;
/// the enum and inet arrays stay text), the long texts sent as keys into caliper.texts. The
/// calling thread keeps the keys (text_key_cache) for this connection; the texts it lacks
/// are asked of caliper.text_keys first, one more round trip. Then one plain INSERT, without
/// ON CONFLICT; when an event is already stored (23505) the batch is written again with
/// ON CONFLICT DO NOTHING, and so are the thread's batches for a minute after (settings below).
/// Hence outside a transaction block only: inside one, the failed INSERT would abort it.
/// Prepared by prepare_array_statement.
std::optional<pg::error> write_with_binary_arrays(const pg::connection& conn,
                                                  std::span<const event_row> rows,
                                                  std::span<const reject_row> rejects,
                                                  std::vector<bool>& inserted);

/// What write_with_binary_arrays on the calling thread is bounded by and counts into. A writer
/// thread sets it before its first write; the key cache's bound applies from the next
/// connection. Unset: the defaults, counted nowhere.
struct writer_thread_settings {
  std::size_t max_bytes = text_key_cache::default_max_bytes;  ///< the key cache's bound
  std::atomic<std::uint64_t>* asked = nullptr;   ///< texts whose key was asked of the database
  std::atomic<std::uint64_t>* resets = nullptr;  ///< times the bound made the cache forget everything
  /// Batches written again with ON CONFLICT DO NOTHING after their plain INSERT met a resent event.
  std::atomic<std::uint64_t>* duplicate_retries = nullptr;
  /// How long after meeting a resent event the thread's batches go straight to ON CONFLICT DO NOTHING.
  std::chrono::steady_clock::duration on_conflict_after_duplicate = std::chrono::minutes(1);
};
void set_writer_thread_settings(const writer_thread_settings& settings) noexcept;

/// Creates the session's temp staging table for the COPY statement.
std::optional<pg::error> prepare_copy_statement(const pg::connection& conn);

/// The same through COPY into a temp table, then INSERT ... SELECT ... ON CONFLICT DO
/// NOTHING, in one explicit transaction (four round trips).
std::optional<pg::error> write_with_copy(const pg::connection& conn,
                                         std::span<const event_row> rows,
                                         std::span<const reject_row> rejects,
                                         std::vector<bool>& inserted);

/// Fills `inserted` from the (event_id, event_time) keys a RETURNING sent back in binary.
void attribute_returned(const pg::result& returned, std::span<const event_row> rows,
                        std::vector<bool>& inserted);

}  // namespace caliper_sessiond::store

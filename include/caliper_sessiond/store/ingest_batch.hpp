#pragma once
/// What one request hands to the store, and how it ends.

#include <cstddef>
#include <cstdint>
#include <functional>
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

}  // namespace caliper_sessiond::store

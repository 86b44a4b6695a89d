#pragma once
/// What reprocess-rejects does with one stored reject, decided without the database (pure,
/// unit-tested): which JSON to feed the parser, and what the parse result means for the row.

#include <cstdint>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::store {

/// The sensor of the envelope a lone rejected event is wrapped in: caliper.rejected_events
/// does not keep the sensor of the request, so rows stored by reprocess-rejects carry this.
inline constexpr std::string_view reprocess_sensor = "urn:caliper-sessiond:reprocess-rejects";

/// What a reject's `raw` holds, told by its reason (the writers of rejects set both).
enum class raw_kind : std::uint8_t {
  event,     ///< one SessionEvent's JSON (the parser's per-event rejects)
  envelope,  ///< a whole request body (reason "<status> <title>: ...", http refuse())
  row,       ///< not Caliper JSON: a row the database refused ("database refused ..."), left alone
};

raw_kind kind_of_reject(std::string_view reason) noexcept;

/// The body to parse: the envelope as stored, or the lone event wrapped in an envelope
/// (reprocess_sensor, sendTime = when it was received).
std::string reprocess_body(raw_kind kind, std::string_view raw, std::int64_t received_at_us);

/// What became of a reparsed reject.
enum class reprocess_verdict : std::uint8_t {
  parsed,     ///< store the result's events and rejects, delete the row
  rejected,   ///< keep the row with the new reason (and the raw the parser kept, scrubbed)
  unchanged,  ///< leave the row as it is (not re-readable: a database refusal, no longer a SessionEvent)
  retry,      ///< the parser cannot derive event ids now (503): stop, change nothing
};

struct reprocess_decision {
  reprocess_verdict verdict = reprocess_verdict::unchanged;
  std::string reason;  ///< for `rejected`: the new reason
  std::string raw;     ///< for `rejected`: the new raw
};

/// Judges `result`, the parse of reprocess_body(kind, raw, ...). For an envelope, parsed
/// means the envelope is taken now, whatever its events became (new rejects are stored as
/// rows of their own); a lone event is parsed when it became a row.
reprocess_decision judge_reparse(raw_kind kind, std::string_view raw, caliper::parse_result& result);

}  // namespace caliper_sessiond::store

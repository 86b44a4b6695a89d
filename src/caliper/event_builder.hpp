#pragma once
/// Turns the fields of one SessionEvent into a row, or into the reason it is refused (internal).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"
#include "event_fields.hpp"

namespace caliper_sessiond::caliper::detail {

/// The Caliper term of a type (`Person` for `Person`, `http://purl.imsglobal.org/caliper/Person`
/// and `http://purl.imsglobal.org/caliper/v1/lis/Person`), or "" for another vocabulary's IRI.
std::string_view caliper_term(std::string_view type) noexcept;

/// The checks of parse_limits that concern one event, with the eventTime window resolved
/// against the time the envelope was received.
struct event_checks {
  std::int64_t earliest_us = 0;  ///< first eventTime accepted
  std::int64_t latest_us = 0;    ///< last eventTime accepted
  std::int64_t past_days = 0;    ///< the settings, for the reason
  std::int64_t future_seconds = 0;
  std::size_t max_id_bytes = 0;
  std::size_t max_user_agent_bytes = 0;
  privacy_options privacy{};
};

/// The checks for an envelope received at `now_us` (negative window settings count as 0).
event_checks make_event_checks(const parse_limits& limits, std::int64_t now_us) noexcept;

/// What became of one SessionEvent.
enum class verdict : std::uint8_t {
  row,          ///< `row` is filled (all but `sensor`)
  reject,       ///< `reason` says why it is refused
  no_event_id,  ///< it needs a derived id and SHA-1 failed: the envelope cannot be taken now
};

/// Judges the SessionEvent `f` sent with the API key named `source` (part of derived ids).
verdict build_session_event(const event_fields& f, std::string_view source, const event_checks& checks,
                            session_event& row, std::string& reason);

}  // namespace caliper_sessiond::caliper::detail

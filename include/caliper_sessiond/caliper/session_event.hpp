#pragma once
/// The normalized SessionEvent row and what the parser returns (DESIGN section 3).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caliper_sessiond/caliper/privacy.hpp"

namespace caliper_sessiond::caliper {

/// The three session actions we keep; stored as the enum `caliper.session_action`.
enum class session_action : std::uint8_t { logged_in, logged_out, timed_out };

/// "LoggedIn", "LoggedOut" or "TimedOut": the enum label in PostgreSQL.
std::string_view to_string(session_action a) noexcept;

/// One row of `caliper.session_events`, less `source` and `received_at`, which the server adds.
struct session_event {
  std::string event_id;                 ///< lowercase canonical UUID text, no `urn:uuid:`
  session_action action{};
  std::int64_t event_time_us{};         ///< eventTime as microseconds since the Unix epoch, UTC
  std::string actor_id;
  std::string user_id;
  std::optional<std::string> user_lms_id;
  std::optional<std::string> user_external_id;
  std::optional<std::string> session_id;
  std::optional<std::string> session_name;
  std::optional<std::string> user_agent;
  std::optional<std::string> ip_address; ///< normalized textual address; absent when unparsable
  std::optional<std::string> ed_app_id;
  std::string sensor;

  friend bool operator==(const session_event&, const session_event&) = default;
};

/// A SessionEvent (or a whole request) that was refused, for `caliper.rejected_events`.
struct rejected_event {
  std::string reason;
  std::string raw;  ///< the JSON as received, bounded by the caller's limit
};

/// The reject recorded for a whole request (or archive record) refused with `status`: the
/// reason "<status> <title>: <detail>" and a bounded, storable copy of `body`. One definition
/// for `serve` and `import`, so both record refusals alike.
/// With a [privacy] mode that scrubs, the body's addresses and browsers are scrubbed first.
rejected_event rejected_request(int status, std::string_view title, std::string_view detail, std::string_view body,
                                std::size_t max_raw_bytes, const privacy_options& privacy = {});

/// Why a whole envelope was refused: HTTP status 400 or 422 and a problem description; or 503
/// when event ids cannot be derived now (the sender should retry; nothing of it is recorded).
struct envelope_error {
  int status{400};
  std::string title;
  std::string detail;
};

/// Limits that keep a hostile body from costing more than a bounded amount.
struct parse_limits {
  std::size_t max_events = 10'000;      ///< entries in `data`
  std::size_t max_depth = 64;           ///< JSON nesting depth
  std::size_t max_raw_bytes = 64 * 1024; ///< bytes of raw JSON kept per rejected event
  /// eventTime must lie in [now - past days, now + future seconds] (now: parse()'s argument):
  /// every month stored becomes a partition, so a sender must not be able to spread rows
  /// over centuries.
  std::int64_t event_time_past_days = 3650;
  std::int64_t event_time_future_seconds = 86'400;
  /// Bytes of each stored id, IRI or name (actor_id, user_id, user_lms_id, user_external_id,
  /// session_id, session_name, ed_app_id) and of the envelope's sensor. Keep it at most 2048:
  /// caliper.sessions' btree key (source, session_id) must stay under PostgreSQL's 2704 bytes.
  std::size_t max_id_bytes = 2048;
  std::size_t max_user_agent_bytes = 1024;  ///< bytes of the stored user_agent
  /// [privacy]: applied to the rows and to the rejects' raw JSON, before anything is stored.
  privacy_options privacy{};
};

/// Everything one envelope yields. When `error` is set, nothing else is meaningful.
struct parse_result {
  std::optional<envelope_error> error;
  std::vector<session_event> events;
  std::vector<rejected_event> rejects;
  std::size_t skipped = 0;  ///< non-session events and entities, counted and ignored
};

}  // namespace caliper_sessiond::caliper

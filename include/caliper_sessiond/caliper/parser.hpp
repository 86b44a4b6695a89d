#pragma once
/// Parses a Caliper envelope into SessionEvent rows. Pure: no I/O, no exceptions.
///
/// What it does with an envelope (DESIGN sections 1-3):
/// - Envelope errors (parse_result::error): not JSON, trailing content, not an object, no
///   `data` array, no `sensor`/`sendTime` string, a sensor over max_id_bytes, nesting deeper
///   than max_depth, more than max_events entries in `data` -> 400; `dataVersion` present (not null) and not exactly
///   the v1p1 or v1p2 context -> 422 (Caliper 1.0 envelopes carry no dataVersion).
/// - Entries of `data` are selected by type (`type` or `@type`): `SessionEvent` or its full
///   IRI (`http://purl.imsglobal.org/caliper/v1/SessionEvent`, 1.0). Anything else - other
///   events (LTIEvent and the generic `Event` with LoggedIn too), entities, bare IRIs - is
///   counted in `skipped` and not looked at further.
/// - A SessionEvent becomes a row, or a rejected_event (reason + its raw JSON, bounded) when:
///   its action is not LoggedIn/LoggedOut/TimedOut (short or IRI form); eventTime is missing
///   or not RFC 3339; `id` is present but not a UUID or urn:uuid:<UUID>; there is no actor
///   (id), or for TimedOut no user (`object.user`, or `object.actor` in 1.0); a member entity
///   is neither an IRI string nor an object; or an entity has a clearly wrong Caliper type:
///   a Person or Membership as object, target or referrer of LoggedIn/LoggedOut, a
///   non-Session as the object of TimedOut or as `session`/`federatedSession`. A Session used
///   by the event (session, federatedSession, TimedOut object, or the 1.0 generated/target
///   Session) is also refused when its `user`/`actor` is not a Person, its `client` not a
///   SoftwareApplication, its startedAtTime/endedAtTime not RFC 3339 or its duration not
///   ISO 8601. Types from other vocabularies (vendor IRIs) and missing types are never
///   refused, nor are unknown members or explicit nulls.
/// - Also a rejected_event: an eventTime outside the window of parse_limits around `now_us`,
///   and a stored text longer than its limit (max_id_bytes for the ids, IRIs and names,
///   max_user_agent_bytes for user_agent): the reason names the column and the limit, so
///   PostgreSQL never has to refuse the row. The sensor is the envelope's: one too long is a
///   400 for the envelope (it would be on every row, and it is the sender's own setting).
/// - The other SessionEvents of the envelope are still returned.
/// - When an event without id needs a derived id and SHA-1 fails (ids.hpp), the whole
///   envelope fails with status 503: nothing of it may be stored or recorded, the sender
///   retries later.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::caliper {

/// One per thread: it keeps simdjson's parser and buffers warm between documents.
class envelope_parser {
public:
  explicit envelope_parser(parse_limits limits = {});
  ~envelope_parser();
  envelope_parser(const envelope_parser&) = delete;
  envelope_parser& operator=(const envelope_parser&) = delete;
  envelope_parser(envelope_parser&&) noexcept;
  envelope_parser& operator=(envelope_parser&&) noexcept;

  /// Spare capacity simdjson reads past the end of a body. Reserve `size + padding` when
  /// reading the body and parse() will not need to reallocate (and copy) it.
  static constexpr std::size_t padding = 64;

  /// Parses `body` sent with the API key named `source` (part of derived event ids) and
  /// received at `now_us` (microseconds since the Unix epoch, UTC: the server's clock, the
  /// centre of the eventTime window; passed in so that parsing stays pure).
  /// May grow `body`'s capacity (simdjson needs padding) but keeps its contents.
  /// Never throws for any input (only std::bad_alloc); every string returned follows the
  /// text rule of text.hpp.
  parse_result parse(std::string& body, std::string_view source, std::int64_t now_us);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace caliper_sessiond::caliper

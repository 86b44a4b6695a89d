#pragma once
/// Event ids: canonical UUID text, and the UUIDv5 derived for events that carry no id.
///
/// Derived ids are UUIDv5 (RFC 9562, SHA-1) in the project namespace
/// `15ac9c38-1b5d-5bed-bd4b-0d35ffe6a78a` (itself UUIDv5 of the URL namespace and
/// "urn:caliper-sessiond:session-event-id"; never change it, or resends stop matching).
/// The name is these fields joined by one NUL byte each (sanitized text holds no NUL, so the
/// layout is unambiguous):
///
///   source \0 "SessionEvent" \0 action label \0 user_id \0 event_time_us \0 object_id
///
/// with the action label `LoggedIn`/`LoggedOut`/`TimedOut`, event_time_us in decimal
/// (microseconds since the epoch, so equal instants written differently match) and object_id
/// "" when the event has no object id.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"

namespace caliper_sessiond::caliper {

/// The namespace of derived event ids, as bytes.
inline constexpr std::array<std::uint8_t, 16> event_id_namespace{
    0x15, 0xac, 0x9c, 0x38, 0x1b, 0x5d, 0x5b, 0xed, 0xbd, 0x4b, 0x0d, 0x35, 0xff, 0xe6, 0xa7, 0x8a};

/// The lowercase canonical form of `id` when it is `<uuid>` or `urn:uuid:<uuid>` (prefix in any
/// case) with `<uuid>` in the hyphenated 8-4-4-4-12 hex form; nullopt otherwise.
std::optional<std::string> canonical_event_uuid(std::string_view id);

/// UUIDv5 of `name` in namespace `ns`, as lowercase canonical text; nullopt when SHA-1 cannot
/// be computed (OpenSSL out of memory, or SHA-1 not available in its configuration). Never a
/// made-up id: that would make every event without an id a duplicate of the first.
std::optional<std::string> uuid_v5(const std::array<std::uint8_t, 16>& ns, std::string_view name);

/// The id of an event that carries none (layout above); nullopt as for uuid_v5.
std::optional<std::string> derived_event_id(std::string_view source, session_action action, std::string_view user_id,
                                            std::int64_t event_time_us, std::string_view object_id);

namespace detail {

/// Writes SHA-1(`prefix` followed by `name`) to `digest`; false when it cannot.
using sha1_function = bool (*)(std::string_view prefix, std::string_view name, std::array<std::uint8_t, 20>& digest);

/// uuid_v5 with the SHA-1 given: the test seam for a failing digest. uuid_v5 passes OpenSSL's.
std::optional<std::string> uuid_v5(sha1_function sha1, const std::array<std::uint8_t, 16>& ns, std::string_view name);

}  // namespace detail

}  // namespace caliper_sessiond::caliper

#pragma once
/// What the parser pulls out of one SessionEvent before deciding on it (internal).
/// Every string_view points into the parser's string buffer, the input, or the
/// envelope_parser's owned strings: valid until the next envelope.

#include <cstdint>
#include <string_view>

namespace caliper_sessiond::caliper::detail {

/// How a JSON member was present.
enum class presence : std::uint8_t { absent, null, string, object, other };

struct text_field {
  presence state = presence::absent;
  std::string_view value;
  bool is_string() const noexcept { return state == presence::string; }
};

/// The extension keys we read, wherever `extensions` appears.
struct extension_fields {
  std::string_view bb_agent;            ///< bb:request.headers.agent
  std::string_view bb_ip;               ///< bb:request.headers.ipAddress
  std::string_view bb_user_id;          ///< bb:user.id
  std::string_view bb_external_id;      ///< bb:user.externalId
  std::string_view canvas_sis_id;       ///< com.instructure.canvas.user_sis_id
  std::string_view canvas_client_ip;    ///< com.instructure.canvas.client_ip
  std::string_view canvas_user_agent;   ///< com.instructure.canvas.user_agent
};

/// An entity nested in an entity: a session's user/actor, its client.
struct ref_fields {
  presence state = presence::absent;
  std::string_view id;    ///< the IRI (`id`/`@id`, or the bare string)
  std::string_view type;  ///< `type`/`@type` when a string
  std::string_view user_agent;
  std::string_view ip_address;
  extension_fields ext;
};

/// An entity that is a member of the event.
struct entity_fields {
  presence state = presence::absent;
  std::string_view id;
  std::string_view type;
  std::string_view name;
  ref_fields user;    ///< Session.user (1.1, 1.2)
  ref_fields actor;   ///< Session.actor (1.0, and Learn's TimedOut)
  ref_fields client;  ///< Session.client (1.2)
  extension_fields ext;
  /// The first Session property with a malformed value ("startedAtTime is not ..."), or null.
  const char* malformed = nullptr;
};

struct event_fields {
  text_field id;
  text_field action;
  text_field event_time;
  entity_fields actor;
  entity_fields object;
  entity_fields target;
  entity_fields referrer;
  entity_fields generated;
  entity_fields ed_app;
  entity_fields session;
  entity_fields federated_session;
  extension_fields ext;
};

}  // namespace caliper_sessiond::caliper::detail

#include "event_builder.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>

#include "caliper_sessiond/caliper/ids.hpp"
#include "caliper_sessiond/caliper/net.hpp"
#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::caliper::detail {
namespace {

/// Values quoted in reasons are cut to this many bytes.
constexpr std::size_t max_quoted_bytes = 200;

std::string quoted(std::string_view s) { return std::string("\"").append(sanitize_text(s, max_quoted_bytes)).append("\""); }

std::optional<session_action> parse_action(std::string_view a) noexcept {
  for (const std::string_view prefix : {std::string_view("http://purl.imsglobal.org/vocab/caliper/v1/action#"),
                                        std::string_view("http://purl.imsglobal.org/vocab/caliper/action#")}) {
    if (a.starts_with(prefix)) {
      a.remove_prefix(prefix.size());
      break;
    }
  }
  if (a == "LoggedIn") return session_action::logged_in;
  if (a == "LoggedOut") return session_action::logged_out;
  if (a == "TimedOut") return session_action::timed_out;
  return std::nullopt;
}

bool is_alpha(char c) noexcept { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/// RFC 3987 in the large: a scheme, a colon, something after it, and no blanks or controls.
bool is_iri(std::string_view s) noexcept {
  if (s.empty() || !is_alpha(s[0])) return false;
  std::size_t i = 1;
  while (i < s.size() && (is_alpha(s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.'))
    ++i;
  if (i + 1 >= s.size() || s[i] != ':') return false;
  for (const char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  return true;
}

bool is_session_term(std::string_view term) noexcept { return term == "Session" || term == "LtiSession"; }

bool is_session_entity(const entity_fields& e) noexcept {
  return e.state == presence::object && is_session_term(caliper_term(e.type));
}

/// Caliper types that can never be the object, target or referrer of a LoggedIn/LoggedOut.
bool is_person_like(std::string_view term) noexcept { return term == "Person" || term == "Membership"; }

std::string wrong_type(std::string_view role, std::string_view type, std::string_view expected) {
  return std::string(role) + " has the wrong entity type " + quoted(type) + " (expected " + std::string(expected) + ")";
}

/// A nested user/actor/client of a Session whose shape or Caliper type is clearly wrong.
/// Builds its message only for a problem: it runs six times for every valid event.
std::string ref_problem(std::string_view role, std::string_view member, const ref_fields& r, std::string_view expected) {
  const auto where = [&] { return std::string(role).append(" ").append(member); };
  if (r.state == presence::other) return where() + " is neither an IRI nor an object";
  if (r.state != presence::object) return {};
  const std::string_view term = caliper_term(r.type);
  if (!term.empty() && term != expected) return wrong_type(where(), r.type, expected);
  return {};
}

/// Why a Session entity used as `role` is malformed, or "".
std::string session_problem(std::string_view role, const entity_fields& s) {
  if (s.state == presence::string && !is_iri(s.id)) return std::string(role) + " " + quoted(s.id) + " is neither an IRI nor an object";
  if (s.state != presence::object) return {};
  const std::string_view term = caliper_term(s.type);
  if (!term.empty() && !is_session_term(term)) return wrong_type(role, s.type, "Session");
  if (s.malformed != nullptr) return std::string(role) + " " + s.malformed;
  if (auto p = ref_problem(role, "user", s.user, "Person"); !p.empty()) return p;
  if (auto p = ref_problem(role, "actor", s.actor, "Person"); !p.empty()) return p;
  return ref_problem(role, "client", s.client, "SoftwareApplication");
}

std::optional<std::string> optional_text(std::initializer_list<std::string_view> candidates) {
  for (const auto c : candidates)
    if (!c.empty()) return std::string(c);
  return std::nullopt;
}

std::string_view first_of(std::initializer_list<std::string_view> candidates) noexcept {
  for (const auto c : candidates)
    if (!c.empty()) return c;
  return {};
}

/// The entity that names the event's session (DESIGN section 3), or null.
const entity_fields* chosen_session(const event_fields& f, session_action action) noexcept {
  if (f.federated_session.state == presence::string || f.federated_session.state == presence::object)
    return &f.federated_session;
  if (f.session.state == presence::string || f.session.state == presence::object) return &f.session;
  if (action == session_action::timed_out && f.object.state == presence::object) return &f.object;
  if (is_session_entity(f.generated)) return &f.generated;  // Caliper 1.0 LoggedIn
  if (is_session_entity(f.target)) return &f.target;        // Caliper 1.0 LoggedOut
  return nullptr;
}

std::string check_members(const event_fields& f) {
  const std::array<std::pair<std::string_view, const entity_fields*>, 8> members{{
      {"actor", &f.actor}, {"object", &f.object}, {"target", &f.target}, {"referrer", &f.referrer},
      {"generated", &f.generated}, {"edApp", &f.ed_app}, {"session", &f.session},
      {"federatedSession", &f.federated_session}}};
  for (const auto& [name, e] : members)
    if (e->state == presence::other) return std::string(name) + " is neither an IRI nor an object";
  if (f.actor.state == presence::absent || f.actor.state == presence::null) return "missing actor";
  if (f.actor.id.empty()) return "actor has no id";
  return {};
}

/// The user of a TimedOut (object.user, or object.actor in 1.0), after checking the object.
std::string timed_out_user(const event_fields& f, const ref_fields*& user) {
  if (f.object.state == presence::absent || f.object.state == presence::null) return "TimedOut has no object (the Session)";
  if (f.object.state == presence::object) {
    const std::string_view term = caliper_term(f.object.type);
    if (!term.empty() && !is_session_term(term)) return wrong_type("object", f.object.type, "Session");
    if (auto p = session_problem("object", f.object); !p.empty()) return p;
    for (const ref_fields* r : {&f.object.user, &f.object.actor})
      if (!r->id.empty()) {
        user = r;
        return {};
      }
  }
  return "TimedOut object has no user";
}

std::string check_logged_in_out(const event_fields& f) {
  const std::array<std::pair<std::string_view, const entity_fields*>, 3> members{
      {{"object", &f.object}, {"target", &f.target}, {"referrer", &f.referrer}}};
  for (const auto& [name, e] : members)
    if (e->state == presence::object && is_person_like(caliper_term(e->type)))
      return wrong_type(name, e->type, name == "object" ? "SoftwareApplication" : "a resource");
  return {};
}

/// [privacy] applies here, before the length checks: a dropped user agent makes no reject.
void fill_client(const event_fields& f, const entity_fields* s, const privacy_options& privacy, session_event& row) {
  const ref_fields empty;
  const ref_fields& c = s != nullptr ? s->client : empty;
  row.user_agent = optional_text({c.user_agent, f.federated_session.client.user_agent, f.session.client.user_agent,
                                  f.object.ext.bb_agent, f.ed_app.ext.bb_agent, f.federated_session.ext.bb_agent,
                                  f.session.ext.bb_agent, f.ext.canvas_user_agent});
  if (privacy.user_agent == user_agent_privacy::drop) row.user_agent.reset();
  const std::string_view ip =
      first_of({c.ip_address, f.federated_session.client.ip_address, f.session.client.ip_address, f.object.ext.bb_ip,
                f.ed_app.ext.bb_ip, f.federated_session.ext.bb_ip, f.session.ext.bb_ip, f.ext.canvas_client_ip});
  row.ip_address = ip.empty() ? std::nullopt : stored_ip(ip, privacy.ip_address);
}


std::string outside_window(std::string_view event_time, const event_checks& c) {
  return "eventTime " + quoted(event_time) + " is outside the accepted window [" + format_timestamp_us(c.earliest_us) +
         ", " + format_timestamp_us(c.latest_us) + "]: ingest.event_time_past_days (" + std::to_string(c.past_days) +
         ") before and ingest.event_time_future_seconds (" + std::to_string(c.future_seconds) +
         ") after the time of receipt";
}

std::string too_long(std::string_view column, std::size_t size, std::size_t limit, std::string_view setting) {
  return std::string(column) + " is " + std::to_string(size) + " bytes, over the limit of " + std::to_string(limit) +
         " (" + std::string(setting) + ")";
}

/// The first stored text over its limit, so that PostgreSQL never refuses the row.
std::string length_problem(const session_event& row, const event_checks& c) {
  const auto size = [](const std::optional<std::string>& s) { return s ? s->size() : std::size_t{0}; };
  const std::array<std::pair<std::string_view, std::size_t>, 7> ids{{{"actor_id", row.actor_id.size()},
                                                                     {"user_id", row.user_id.size()},
                                                                     {"user_lms_id", size(row.user_lms_id)},
                                                                     {"user_external_id", size(row.user_external_id)},
                                                                     {"session_id", size(row.session_id)},
                                                                     {"session_name", size(row.session_name)},
                                                                     {"ed_app_id", size(row.ed_app_id)}}};
  for (const auto& [column, n] : ids)
    if (n > c.max_id_bytes) return too_long(column, n, c.max_id_bytes, "ingest.max_id_bytes");
  if (size(row.user_agent) > c.max_user_agent_bytes)
    return too_long("user_agent", size(row.user_agent), c.max_user_agent_bytes, "ingest.max_user_agent_bytes");
  return {};
}

/// Checks `f` and fills `row` but for a derived event id (left empty); returns why `f` is
/// refused, or "".
std::string fill_row(const event_fields& f, const event_checks& checks, session_event& row) {
  if (!f.action.is_string()) return f.action.state == presence::absent || f.action.state == presence::null
                                        ? "missing action" : "action is not a string";
  const auto action = parse_action(f.action.value);
  if (!action) return "unknown action " + quoted(f.action.value) + " for a SessionEvent";
  if (!f.event_time.is_string()) return f.event_time.state == presence::absent || f.event_time.state == presence::null
                                            ? "missing eventTime" : "eventTime is not a string";
  const auto time = parse_rfc3339_us(f.event_time.value);
  if (!time) return "eventTime " + quoted(f.event_time.value) + " is not an RFC 3339 date-time";
  if (*time < checks.earliest_us || *time > checks.latest_us) return outside_window(f.event_time.value, checks);
  std::optional<std::string> event_id;
  if (f.id.is_string()) {
    event_id = canonical_event_uuid(f.id.value);
    if (!event_id) return "event id " + quoted(f.id.value) + " is neither a UUID nor urn:uuid:<UUID>";
  } else if (f.id.state == presence::object || f.id.state == presence::other) {
    return "event id is not a string";
  }
  if (auto p = check_members(f); !p.empty()) return p;
  for (const auto& [role, s] : {std::pair<std::string_view, const entity_fields*>{"federatedSession", &f.federated_session},
                                {"session", &f.session}})
    if (auto p = session_problem(role, *s); !p.empty()) return p;

  const ref_fields* timed_out_user_ref = nullptr;
  if (*action == session_action::timed_out) {
    if (auto p = timed_out_user(f, timed_out_user_ref); !p.empty()) return p;
  } else if (auto p = check_logged_in_out(f); !p.empty()) {
    return p;
  }
  const entity_fields* session = chosen_session(f, *action);
  if (session == &f.generated || session == &f.target)
    if (auto p = session_problem(session == &f.generated ? "generated" : "target", *session); !p.empty()) return p;

  const std::string_view user_id = timed_out_user_ref != nullptr ? timed_out_user_ref->id : f.actor.id;
  const extension_fields& user_ext = timed_out_user_ref != nullptr ? timed_out_user_ref->ext : f.actor.ext;
  row.event_id = event_id ? std::move(*event_id) : std::string();
  row.action = *action;
  row.event_time_us = *time;
  row.actor_id = std::string(f.actor.id);
  row.user_id = std::string(user_id);
  row.user_lms_id = optional_text({user_ext.bb_user_id, f.ext.bb_user_id});
  row.user_external_id = optional_text({user_ext.bb_external_id, user_ext.canvas_sis_id, f.ext.bb_external_id});
  row.session_id = session != nullptr ? optional_text({session->id}) : std::nullopt;
  row.session_name = session != nullptr ? optional_text({session->name}) : std::nullopt;
  fill_client(f, session, checks.privacy, row);
  row.ed_app_id = optional_text({f.ed_app.id});
  return length_problem(row, checks);
}

}  // namespace

std::string_view caliper_term(std::string_view type) noexcept {
  for (const std::string_view prefix : {std::string_view("http://purl.imsglobal.org/caliper/v1/lis/"),
                                        std::string_view("http://purl.imsglobal.org/caliper/v1/"),
                                        std::string_view("http://purl.imsglobal.org/caliper/")}) {
    if (type.starts_with(prefix)) {
      type.remove_prefix(prefix.size());
      break;
    }
  }
  return type.find_first_of(":/#") == std::string_view::npos ? type : std::string_view{};
}

event_checks make_event_checks(const parse_limits& limits, std::int64_t now_us) noexcept {
  // Clamped so that the window arithmetic cannot overflow (about 11,000 years each).
  constexpr std::int64_t max_days = 4'000'000;
  const std::int64_t days = std::clamp<std::int64_t>(limits.event_time_past_days, 0, max_days);
  const std::int64_t seconds = std::clamp<std::int64_t>(limits.event_time_future_seconds, 0, max_days * 86'400);
  constexpr std::int64_t us_per_second = 1'000'000;
  now_us = std::clamp<std::int64_t>(now_us, -max_days * 86'400 * us_per_second, max_days * 86'400 * us_per_second);
  return event_checks{.earliest_us = now_us - days * 86'400 * us_per_second,
                      .latest_us = now_us + seconds * us_per_second,
                      .past_days = days,
                      .future_seconds = seconds,
                      .max_id_bytes = limits.max_id_bytes,
                      .max_user_agent_bytes = limits.max_user_agent_bytes,
                      .privacy = limits.privacy};
}

verdict build_session_event(const event_fields& f, std::string_view source, const event_checks& checks,
                            session_event& row, std::string& reason) {
  reason = fill_row(f, checks, row);
  if (!reason.empty()) return verdict::reject;
  if (row.event_id.empty()) {
    auto id = derived_event_id(source, row.action, row.user_id, row.event_time_us, f.object.id);
    if (!id) return verdict::no_event_id;
    row.event_id = std::move(*id);
  }
  return verdict::row;
}

}  // namespace caliper_sessiond::caliper::detail

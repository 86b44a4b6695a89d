#pragma once
/// Turns the fields of one SessionEvent into a row, or into the reason it is refused (internal).

#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/session_event.hpp"
#include "event_fields.hpp"

namespace caliper_sessiond::caliper::detail {

/// The Caliper term of a type (`Person` for `Person`, `http://purl.imsglobal.org/caliper/Person`
/// and `http://purl.imsglobal.org/caliper/v1/lis/Person`), or "" for another vocabulary's IRI.
std::string_view caliper_term(std::string_view type) noexcept;

/// Fills `row` (all but `sensor`) and returns "" when `f` is a storable SessionEvent; otherwise
/// returns why not. `source` is the API key name, part of derived ids.
std::string build_session_event(const event_fields& f, std::string_view source, session_event& row);

}  // namespace caliper_sessiond::caliper::detail

#pragma once
/// Reads event members with simdjson on-demand (internal). Every access is checked; an error
/// code returned from here means the document itself is broken (the envelope is refused),
/// while wrong or odd values are only recorded in the fields for the event builder to judge.

#include <simdjson.h>

#include <deque>
#include <string>
#include <string_view>

#include "event_fields.hpp"

namespace caliper_sessiond::caliper::detail {

/// Strings the parser had to rewrite (U+0000, lone surrogates), kept for one envelope.
class string_store {
public:
  std::string_view keep(std::string s) { return owned_.emplace_back(std::move(s)); }
  void clear() noexcept { owned_.clear(); }

private:
  std::deque<std::string> owned_;
};

/// Reads a JSON string value into `out` under the text rule (see text.hpp); other JSON types
/// only set `out.state`.
simdjson::error_code read_text(simdjson::ondemand::value& v, text_field& out, string_store& store);

/// Reads the members of the event object `obj` (positioned at its start).
simdjson::error_code read_event(simdjson::ondemand::object& obj, event_fields& out, string_store& store);

/// Decodes a JSON string token (starting at its opening quote) as simdjson would, except that
/// lone surrogate escapes become U+FFFD and `\u0000` becomes U+FFFD. False on a malformed token.
bool decode_json_string_lenient(std::string_view token, std::string& out);

}  // namespace caliper_sessiond::caliper::detail

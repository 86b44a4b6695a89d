#include "caliper_sessiond/caliper/parser.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "caliper_sessiond/caliper/text.hpp"
#include "caliper_sessiond/caliper/versions.hpp"
#include "event_builder.hpp"
#include "json_reader.hpp"
#include "nesting.hpp"

namespace caliper_sessiond::caliper {
namespace {

namespace od = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

static_assert(envelope_parser::padding >= simdjson::SIMDJSON_PADDING);

envelope_error bad_request(std::string title, std::string detail) {
  return envelope_error{400, std::move(title), std::move(detail)};
}

envelope_error not_json(error_code e) {
  return bad_request("Body is not JSON", std::string("the body is not a valid JSON document: ") + simdjson::error_message(e));
}

/// The event's raw JSON as received, without the blanks simdjson counts up to the next token.
std::string_view trim_right(std::string_view s) noexcept {
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

struct envelope_parser::impl {
  parse_limits limits;
  od::parser parser;
  detail::string_store store;  ///< strings rewritten under the text rule
  detail::event_fields fields;

  detail::event_checks checks;  ///< for the envelope being parsed
  /// Rows of the last envelope this parser read (one parser per I/O thread), at most
  /// max_events_hint: the next envelope's rows start with room for that many (a sender's
  /// envelopes are alike) instead of growing 1, 2, 4, 8..., moving every row each time. Room
  /// left over past twice the rows is given back (parse): the rows go on into the journal's
  /// memory cache, where spare room would take the place of other records.
  std::size_t events_hint = 0;
  static constexpr std::size_t max_events_hint = 64;

  parse_result parse(std::string& body, std::string_view source, std::int64_t now_us);
  error_code parse_envelope(od::document& doc, std::string_view source, parse_result& r, std::string& sensor);
  error_code parse_data(od::value& data, std::string_view source, parse_result& r);
  error_code parse_entry(od::value& entry, std::string_view source, parse_result& r);
};

envelope_parser::envelope_parser(parse_limits limits) : impl_(std::make_unique<impl>()) { impl_->limits = limits; }
envelope_parser::~envelope_parser() = default;
envelope_parser::envelope_parser(envelope_parser&&) noexcept = default;
envelope_parser& envelope_parser::operator=(envelope_parser&&) noexcept = default;

parse_result envelope_parser::parse(std::string& body, std::string_view source, std::int64_t now_us) {
  return impl_->parse(body, source, now_us);
}

parse_result envelope_parser::impl::parse(std::string& body, std::string_view source, std::int64_t now_us) {
  parse_result r;
  store.clear();
  checks = detail::make_event_checks(limits, now_us);
  if (const std::size_t depth = detail::nesting_depth(body, limits.max_depth); depth > limits.max_depth) {
    r.error = bad_request("JSON nested too deeply", "the body nests arrays and objects deeper than max_depth (" +
                                                        std::to_string(limits.max_depth) + ")");
    return r;
  }
  body.reserve(body.size() + padding);
  od::document doc;
  error_code e = parser.iterate(body.data(), body.size(), body.capacity()).get(doc);
  std::string sanitized;  // the body with ill-formed UTF-8 replaced, rarely needed
  if (e == simdjson::UTF8_ERROR) {
    // Ill-formed UTF-8: parse a sanitized copy (text rule) so the rest of the envelope counts.
    sanitized = sanitize_text(body);
    sanitized.reserve(sanitized.size() + padding);
    e = parser.iterate(sanitized.data(), sanitized.size(), sanitized.capacity()).get(doc);
  }
  if (e) {
    r.error = not_json(e);
    return r;
  }
  std::string sensor;
  if (const auto pe = parse_envelope(doc, source, r, sensor)) {
    r = parse_result{};
    r.error = not_json(pe);
    return r;
  }
  if (r.error) {
    r.events.clear();
    r.rejects.clear();
    r.skipped = 0;
    return r;
  }
  for (auto& ev : r.events) ev.sensor = sensor;
  events_hint = std::min(r.events.size(), max_events_hint);
  if (r.events.capacity() > 2 * r.events.size()) r.events.shrink_to_fit();
  return r;
}

error_code envelope_parser::impl::parse_envelope(od::document& doc, std::string_view source, parse_result& r,
                                                 std::string& sensor) {
  od::json_type root_type;
  if (const auto e = doc.type().get(root_type)) return e;
  if (root_type != od::json_type::object) {
    r.error = bad_request("Not a Caliper envelope", "the body is JSON but not an object (a Caliper envelope)");
    return SUCCESS;
  }
  od::object root;
  if (const auto e = doc.get_object().get(root)) return e;
  bool have_sensor = false, have_send_time = false, have_data = false;
  detail::text_field version;
  for (auto field_result : root) {
    od::field field;
    if (const auto e = std::move(field_result).get(field)) return e;
    const auto key = field.key();
    od::value& v = field.value();
    if (key == "sensor" && !have_sensor) {
      detail::text_field t;
      if (const auto e = detail::read_text(v, t, store)) return e;
      if (t.state != detail::presence::null && !t.is_string()) {
        r.error = bad_request("Invalid envelope", "the envelope's sensor is not a string");
        return SUCCESS;
      }
      have_sensor = t.is_string();
      sensor = std::string(t.value);
    } else if (key == "sendTime" && !have_send_time) {
      detail::text_field t;
      if (const auto e = detail::read_text(v, t, store)) return e;
      if (t.state != detail::presence::null && !t.is_string()) {
        r.error = bad_request("Invalid envelope", "the envelope's sendTime is not a string");
        return SUCCESS;
      }
      have_send_time = t.is_string();
    } else if (key == "dataVersion" && version.state == detail::presence::absent) {
      if (const auto e = detail::read_text(v, version, store)) return e;
    } else if (key == "data" && !have_data) {
      have_data = true;
      if (const auto e = parse_data(v, source, r)) return e;
      if (r.error) return SUCCESS;
    }
  }
  // simdjson 3.0 has no document::at_end(); past the last token current_location() is OUT_OF_BOUNDS.
  if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) return simdjson::TRAILING_CONTENT;
  if (!have_data) r.error = bad_request("Invalid envelope", "the envelope has no data array");
  else if (!have_sensor) r.error = bad_request("Invalid envelope", "the envelope has no sensor");
  else if (!have_send_time) r.error = bad_request("Invalid envelope", "the envelope has no sendTime");
  else if (sensor.size() > limits.max_id_bytes)
    r.error = bad_request("Invalid envelope", "the envelope's sensor is " + std::to_string(sensor.size()) +
                                                  " bytes, over the limit of " + std::to_string(limits.max_id_bytes) +
                                                  " (ingest.max_id_bytes)");
  if (r.error) return SUCCESS;
  if (version.state != detail::presence::absent && version.state != detail::presence::null) {
    bool supported = false;
    for (const auto s : supported_versions) supported = supported || (version.is_string() && version.value == s);
    if (!supported) {
      r.error = envelope_error{422, "Unsupported Caliper version",
                               version.is_string() ? "dataVersion \"" + sanitize_text(version.value, 200) +
                                                         "\" is not a supported Caliper context (v1p1, v1p2)"
                                                   : std::string("dataVersion is not a string")};
    }
  }
  return SUCCESS;
}

error_code envelope_parser::impl::parse_data(od::value& data, std::string_view source, parse_result& r) {
  od::json_type t;
  if (const auto e = data.type().get(t)) return e;
  if (t != od::json_type::array) {
    r.error = bad_request("Invalid envelope", "the envelope's data is not an array");
    return SUCCESS;
  }
  od::array arr;
  if (const auto e = data.get_array().get(arr)) return e;
  r.events.reserve(events_hint);
  std::size_t count = 0;
  for (auto entry_result : arr) {
    od::value entry;
    if (const auto e = std::move(entry_result).get(entry)) return e;
    if (++count > limits.max_events) {
      r.error = bad_request("Too many events", "data holds more than max_events (" + std::to_string(limits.max_events) +
                                                   ") entries");
      return SUCCESS;
    }
    if (const auto e = parse_entry(entry, source, r)) return e;
    if (r.error) return SUCCESS;  // 503: no event id could be derived
  }
  return SUCCESS;
}

error_code envelope_parser::impl::parse_entry(od::value& entry, std::string_view source, parse_result& r) {
  od::json_type t;
  if (const auto e = entry.type().get(t)) return e;
  if (t != od::json_type::object) {
    ++r.skipped;  // an entity given by its IRI, or something that is no event at all
    return SUCCESS;
  }
  od::object obj;
  if (const auto e = entry.get_object().get(obj)) return e;
  od::value type_value;
  error_code e = obj.find_field_unordered("type").get(type_value);
  if (e == simdjson::NO_SUCH_FIELD) e = obj.find_field_unordered("@type").get(type_value);
  detail::text_field type;
  if (e == SUCCESS) e = detail::read_text(type_value, type, store);
  if (e != SUCCESS && e != simdjson::NO_SUCH_FIELD) return e;
  // Select on the type, never on the action: LTIEvent and the generic Event also log people in.
  if (!type.is_string() || detail::caliper_term(type.value) != "SessionEvent") {
    ++r.skipped;
    return SUCCESS;
  }
  bool unused;
  if (const auto re = obj.reset().get(unused)) return re;
  fields = detail::event_fields{};
  if (const auto re = detail::read_event(obj, fields, store)) return re;
  session_event row;
  std::string reason;
  switch (detail::build_session_event(fields, source, checks, row, reason)) {
    case detail::verdict::row: r.events.push_back(std::move(row)); return SUCCESS;
    case detail::verdict::no_event_id:
      // Storing it under a made-up id could collide with other events: the sender retries.
      r.error = envelope_error{503, "Service Unavailable", "cannot derive event ids now; retry later"};
      return SUCCESS;
    case detail::verdict::reject: break;
  }
  if (const auto re = obj.reset().get(unused)) return re;
  std::string_view raw;
  if (const auto re = obj.raw_json().get(raw)) return re;
  // Scrubbed before it is cut: the raw holds the same address and browser as the row would.
  raw = trim_right(raw);
  std::string kept = limits.privacy.scrubs() ? sanitize_text(scrub_raw(raw, limits.privacy), limits.max_raw_bytes)
                                             : sanitize_text(raw, limits.max_raw_bytes);
  r.rejects.push_back(rejected_event{std::move(reason), std::move(kept)});
  return SUCCESS;
}

}  // namespace caliper_sessiond::caliper

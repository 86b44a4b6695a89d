#include "parser_test_support.hpp"

#include <simdjson.h>

#include <optional>
#include <stdexcept>
#include <utility>

#include "caliper_sessiond/caliper/time.hpp"

namespace caliper_sessiond::caliper {

void PrintTo(const session_event& e, std::ostream* os) {
  const auto opt = [](const std::optional<std::string>& s) { return s ? "\"" + *s + "\"" : std::string("null"); };
  *os << "{event_id=" << e.event_id << ", action=" << to_string(e.action)
      << ", event_time=" << format_timestamp_us(e.event_time_us) << ", actor_id=" << e.actor_id
      << ", user_id=" << e.user_id << ", user_lms_id=" << opt(e.user_lms_id)
      << ", user_external_id=" << opt(e.user_external_id) << ", session_id=" << opt(e.session_id)
      << ", session_name=" << opt(e.session_name) << ", user_agent=" << opt(e.user_agent)
      << ", ip_address=" << opt(e.ip_address) << ", ed_app_id=" << opt(e.ed_app_id) << ", sensor=" << e.sensor << "}";
}

}  // namespace caliper_sessiond::caliper

namespace caliper_sessiond::caliper::test {
namespace {

namespace od = simdjson::ondemand;

void check(simdjson::error_code e, const char* what) {
  if (e) throw std::runtime_error(std::string(what) + ": " + simdjson::error_message(e));
}

/// The byte range of member `key`'s value inside `json`, or nullopt when there is no such member.
std::optional<std::pair<std::size_t, std::size_t>> find_member(const std::string& json, std::string_view key) {
  const simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  check(parser.iterate(padded).get(doc), "iterate");
  od::object obj;
  check(doc.get_object().get(obj), "get_object");
  od::value v;
  const auto found = obj.find_field_unordered(key).get(v);
  if (found == simdjson::NO_SUCH_FIELD) return std::nullopt;
  check(found, "find_field");
  od::json_type t{};
  check(v.type().get(t), "type");
  std::string_view raw;
  if (t == od::json_type::object) {
    od::object o;
    check(v.get_object().get(o), "member object");
    check(o.raw_json().get(raw), "raw_json");
  } else if (t == od::json_type::array) {
    od::array a;
    check(v.get_array().get(a), "member array");
    check(a.raw_json().get(raw), "raw_json");
  } else {
    raw = v.raw_json_token();
  }
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\n' || raw.back() == '\r' || raw.back() == '\t'))
    raw.remove_suffix(1);
  return std::pair{static_cast<std::size_t>(raw.data() - padded.data()), raw.size()};
}

std::pair<std::size_t, std::size_t> member_range(const std::string& json, std::string_view key) {
  const auto range = find_member(json, key);
  if (!range) throw std::runtime_error("no member " + std::string(key));
  return *range;
}

}  // namespace

std::string project_fixture(const std::string& relative) {
  return testing::read_file(testing::source_dir() + "/tests/fixtures/" + relative);
}

std::string spec_dir() {
  const std::string shared = testing::shared_fixtures_dir();
  return shared.empty() ? std::string{} : shared + "/caliper-spec";
}

std::string spec_fixture(const std::string& relative) { return testing::read_file(spec_dir() + "/" + relative); }

bool is_envelope(const std::string& json) {
  const simdjson::padded_string padded(json);
  od::parser parser;
  od::document doc;
  check(parser.iterate(padded).get(doc), "iterate");
  od::object obj;
  check(doc.get_object().get(obj), "get_object");
  bool sensor = false, data = false;
  for (auto field_result : obj) {
    od::field field;
    check(std::move(field_result).get(field), "field");
    sensor = sensor || field.key() == "sensor";
    data = data || field.key() == "data";
  }
  return sensor && data;
}

std::string wrap_in_envelope(const std::string& event) {
  std::string version;
  const auto range = find_member(event, "@context");
  const std::string context = range ? event.substr(range->first, range->second) : std::string{};
  for (const char* v : {"http://purl.imsglobal.org/ctx/caliper/v1p2", "http://purl.imsglobal.org/ctx/caliper/v1p1"})
    if (version.empty() && context.find(v) != std::string::npos) version = v;
  std::string out = "{\"sensor\": \"" + std::string(wrapper_sensor) + "\", \"sendTime\": \"2016-11-15T11:05:01.000Z\", ";
  if (!version.empty()) out += "\"dataVersion\": \"" + version + "\", ";
  out += "\"data\": [" + event + "]}";
  return out;
}

std::string member_raw(const std::string& json, std::string_view key) {
  const auto [offset, size] = member_range(json, key);
  return json.substr(offset, size);
}

std::string replace_member(const std::string& json, std::string_view key, std::string_view replacement) {
  const auto [offset, size] = member_range(json, key);
  std::string out = json;
  out.replace(offset, size, replacement);
  return out;
}

parse_limits any_date_limits() { return parse_limits{.event_time_past_days = 36'500}; }

parse_result parse_body(std::string body, std::string_view source) {
  envelope_parser parser(any_date_limits());
  return parser.parse(body, source, test_now_us);
}

std::int64_t us(std::string_view rfc3339) {
  const auto t = parse_rfc3339_us(rfc3339);
  if (!t) throw std::runtime_error("bad time in test: " + std::string(rfc3339));
  return *t;
}

std::string trim_right(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r' || text.back() == '\t'))
    text.pop_back();
  return text;
}

}  // namespace caliper_sessiond::caliper::test

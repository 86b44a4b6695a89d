// libFuzzer target: caliper::envelope_parser::parse on arbitrary bytes.
// Invariants: no crash or sanitizer report; the body comes back unchanged; an error is a 400
// or 422 with nothing else returned; every string returned is storable text (text.hpp); event
// ids are canonical lowercase UUIDs; a reject's raw JSON stays within max_raw_bytes; every
// stored eventTime lies in the window and every stored text within its length limit; the
// same body parsed twice by the reused parser gives the same result.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "caliper_sessiond/caliper/ids.hpp"
#include "caliper_sessiond/caliper/net.hpp"
#include "caliper_sessiond/caliper/parser.hpp"
#include "caliper_sessiond/caliper/text.hpp"
#include "fuzz_check.hpp"

namespace {

using namespace caliper_sessiond::caliper;

constexpr parse_limits limits{.max_events = 1000, .max_depth = 64, .max_raw_bytes = 1024};
/// The parser's clock: 2026-12-01T00:00:00Z, so that a run is reproducible.
constexpr std::int64_t now_us = 1'796'083'200'000'000;

std::string last_outcome;

bool within(const std::optional<std::string>& s, std::size_t max) { return !s || s->size() <= max; }

bool storable(const std::optional<std::string>& s) { return !s || is_storable_text(*s); }

void check_event(const session_event& e) {
  FUZZ_CHECK(canonical_event_uuid(e.event_id) == e.event_id);
  FUZZ_CHECK(is_storable_text(e.actor_id) && !e.actor_id.empty());
  FUZZ_CHECK(is_storable_text(e.user_id) && !e.user_id.empty());
  FUZZ_CHECK(is_storable_text(e.sensor));
  FUZZ_CHECK(storable(e.user_lms_id) && storable(e.user_external_id) && storable(e.session_id));
  FUZZ_CHECK(storable(e.session_name) && storable(e.user_agent) && storable(e.ed_app_id));
  FUZZ_CHECK(!e.ip_address || normalize_ip(*e.ip_address) == e.ip_address);
  FUZZ_CHECK(e.event_time_us >= now_us - limits.event_time_past_days * 86'400'000'000 &&
             e.event_time_us <= now_us + limits.event_time_future_seconds * 1'000'000);
  const std::size_t id_max = limits.max_id_bytes;
  FUZZ_CHECK(e.actor_id.size() <= id_max && e.user_id.size() <= id_max && e.sensor.size() <= id_max);
  FUZZ_CHECK(within(e.user_lms_id, id_max) && within(e.user_external_id, id_max) && within(e.session_id, id_max));
  FUZZ_CHECK(within(e.session_name, id_max) && within(e.ed_app_id, id_max));
  FUZZ_CHECK(within(e.user_agent, limits.max_user_agent_bytes));
}

void check_result(const parse_result& r) {
  if (r.error) {
    FUZZ_CHECK(r.error->status == 400 || r.error->status == 422);
    FUZZ_CHECK(!r.error->title.empty() && is_storable_text(r.error->title));
    FUZZ_CHECK(!r.error->detail.empty() && is_storable_text(r.error->detail));
    FUZZ_CHECK(r.events.empty() && r.rejects.empty() && r.skipped == 0);
    return;
  }
  for (const auto& e : r.events) check_event(e);
  for (const auto& j : r.rejects) {
    FUZZ_CHECK(!j.reason.empty() && is_storable_text(j.reason));
    FUZZ_CHECK(is_storable_text(j.raw) && j.raw.size() <= limits.max_raw_bytes);
  }
  FUZZ_CHECK(r.events.size() + r.rejects.size() + r.skipped <= limits.max_events);
}

bool same(const parse_result& a, const parse_result& b) {
  if (a.error.has_value() != b.error.has_value()) return false;
  if (a.error && (a.error->status != b.error->status || a.error->detail != b.error->detail)) return false;
  if (a.events != b.events || a.rejects.size() != b.rejects.size() || a.skipped != b.skipped) return false;
  for (std::size_t i = 0; i < a.rejects.size(); ++i)
    if (a.rejects[i].reason != b.rejects[i].reason || a.rejects[i].raw != b.rejects[i].raw) return false;
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static envelope_parser parser(limits);
  const std::string input(reinterpret_cast<const char*>(data), size);

  // The text rule itself: sanitizing gives storable text and is idempotent.
  const std::string clean = sanitize_text(input);
  FUZZ_CHECK(is_storable_text(clean) && sanitize_text(clean) == clean);
  FUZZ_CHECK(is_storable_text(input) == (clean == input));

  std::string body = input;
  const parse_result first = parser.parse(body, "fuzz", now_us);
  FUZZ_CHECK(body == input);
  check_result(first);
  last_outcome = first.error ? std::to_string(first.error->status)
                             : "ok-" + std::to_string(first.events.size()) + "-" + std::to_string(first.rejects.size());
  const parse_result again = parser.parse(body, "fuzz", now_us);
  FUZZ_CHECK(body == input);
  FUZZ_CHECK(same(first, again));
  return 0;
}

std::string fuzz_last_outcome() { return last_outcome; }

#pragma once
/// Helpers for the parser tests: fixture files, envelopes around single events, members.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>

#include "caliper_sessiond/caliper/parser.hpp"
#include "pg_test_env.hpp"

namespace caliper_sessiond::caliper {
/// Readable failures for EXPECT_EQ on rows.
void PrintTo(const session_event& e, std::ostream* os);
}  // namespace caliper_sessiond::caliper

namespace caliper_sessiond::caliper::test {

/// The sensor of the envelopes that wrap_in_envelope builds.
inline constexpr std::string_view wrapper_sensor = "https://example.edu/sensor/test-wrapper";

/// A file of tests/fixtures.
std::string project_fixture(const std::string& relative);

/// `<shared fixtures>/caliper-spec`, or "" when the shared fixtures are absent.
std::string spec_dir();

/// A file of the official Caliper fixtures, e.g. "v1p2/caliperEventSessionLoggedIn.json".
std::string spec_fixture(const std::string& relative);

/// True when `json` is an envelope (an object with `sensor` and `data`).
bool is_envelope(const std::string& json);

/// `event` inside an envelope whose dataVersion follows the event's @context (none for 1.0).
std::string wrap_in_envelope(const std::string& event);

/// The raw JSON of the member `key` of the object `json`.
std::string member_raw(const std::string& json, std::string_view key);

/// `json` with the value of member `key` replaced by `replacement` (raw JSON).
std::string replace_member(const std::string& json, std::string_view key, std::string_view replacement);

/// The "now" of the parser tests and of the fuzz regressions: 2026-12-01T00:00:00Z.
inline constexpr std::int64_t test_now_us = 1'796'083'200'000'000;

/// Default limits but an eventTime window of 100 years before test_now_us: the fixtures
/// (the spec's go back to 2015) are about their shapes, not their dates.
parse_limits any_date_limits();

/// Parses `body` with any_date_limits(), API key name `source`, received at test_now_us.
parse_result parse_body(std::string body, std::string_view source = "test");

/// Microseconds of an RFC 3339 time that must parse.
std::int64_t us(std::string_view rfc3339);

/// `text` without trailing blanks (files end with a newline; raw JSON does not).
std::string trim_right(std::string text);

}  // namespace caliper_sessiond::caliper::test

#define SKIP_WITHOUT_SPEC_FIXTURES()                                                                 \
  if (::caliper_sessiond::caliper::test::spec_dir().empty())                                       \
  GTEST_SKIP() << "../shared/fixtures is absent: the official Caliper fixtures are read from there"

// The text rule (text.hpp): what PostgreSQL cannot store becomes U+FFFD, never a reject.
// And the length limits (issue 11): a stored text over its limit is a reject, never a row
// that PostgreSQL refuses.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caliper_sessiond/caliper/text.hpp"
#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

using ::testing::HasSubstr;
using test::project_fixture;

const std::string fffd(replacement_character);

TEST(TextRule, NulEscapeBecomesReplacementCharacter) {
  const parse_result r = test::parse_body(project_fixture("events/text-nul-escape.json"));
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].session_name, "ab" + fffd + "cd");
  EXPECT_EQ(r.events[0].user_agent, "agent" + fffd);
}

TEST(TextRule, LoneSurrogateEscapesBecomeReplacementCharacterAndPairsDecode) {
  const parse_result r = test::parse_body(project_fixture("events/text-lone-surrogates.json"));
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].session_name, "x" + fffd + "y" + fffd + "z");
  EXPECT_EQ(r.events[0].user_agent, "smile \xF0\x9F\x98\x80");
}

TEST(TextRule, IllFormedUtf8InTheBodyBecomesReplacementCharacter) {
  const parse_result r = test::parse_body(project_fixture("events/text-invalid-utf8.json"));
  ASSERT_FALSE(r.error) << r.error->detail;
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].session_name, "na" + fffd + "me");
  EXPECT_EQ(r.events[0].user_agent, "ag" + fffd + "(ent");
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "unknown action \"Bo" + fffd + "gus\" for a SessionEvent");
  EXPECT_TRUE(is_storable_text(r.rejects[0].raw));
  EXPECT_THAT(r.rejects[0].raw, HasSubstr("\"Bo" + fffd + "gus\""));
}

TEST(TextRule, RejectRawKeepsEscapesAsReceived) {
  const parse_result r = test::parse_body(project_fixture("events/text-reject-raw.json"));
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_THAT(r.rejects[0].raw, HasSubstr(R"("caf\u00e9 \u0000")"));
  EXPECT_TRUE(is_storable_text(r.rejects[0].raw));
}

// Length limits: parse_limits::max_id_bytes (2048) and max_user_agent_bytes (1024).

/// events/stored-fields-<kind>.json with the value "<column>" made exactly `bytes` long.
std::string with_length(const std::string& kind, std::string_view column, std::size_t bytes,
                        std::string_view filler = "x") {
  std::string body = project_fixture("events/stored-fields-" + kind + ".json");
  const std::string token = "\"<" + std::string(column) + ">\"";
  std::string value;
  while (value.size() < bytes) value += filler;
  body.replace(body.find(token), token.size(), "\"" + value.substr(0, bytes) + "\"");
  return body;
}

parse_result parse_default(std::string body, parse_limits limits = {}) {
  envelope_parser parser(limits);
  return parser.parse(body, "test", test::test_now_us);
}

/// Every column limited by max_id_bytes, and the fixture that sets it on its own.
const std::vector<std::pair<std::string, std::string>> id_columns{
    {"actor_id", "logged-in"},   {"user_lms_id", "logged-in"}, {"user_external_id", "logged-in"},
    {"session_id", "logged-in"}, {"session_name", "logged-in"}, {"ed_app_id", "logged-in"},
    {"user_id", "timed-out"}};

std::size_t stored_size(const session_event& e, const std::string& column) {
  const auto size = [](const std::optional<std::string>& s) { return s ? s->size() : std::size_t{0}; };
  if (column == "actor_id") return e.actor_id.size();
  if (column == "user_id") return e.user_id.size();
  if (column == "user_lms_id") return size(e.user_lms_id);
  if (column == "user_external_id") return size(e.user_external_id);
  if (column == "session_id") return size(e.session_id);
  if (column == "session_name") return size(e.session_name);
  if (column == "ed_app_id") return size(e.ed_app_id);
  return size(e.user_agent);
}

TEST(TextLimits, EveryIdExactlyAtMaxIdBytesIsStored) {
  for (const auto& [column, kind] : id_columns) {
    const parse_result r = parse_default(with_length(kind, column, 2048));
    ASSERT_FALSE(r.error) << column;
    EXPECT_TRUE(r.rejects.empty()) << column << ": " << (r.rejects.empty() ? "" : r.rejects[0].reason);
    ASSERT_EQ(r.events.size(), 1U) << column;
    EXPECT_EQ(stored_size(r.events[0], column), 2048U) << column;
  }
}

TEST(TextLimits, EveryIdOneByteOverMaxIdBytesIsARejectNamingTheColumnAndTheLimit) {
  for (const auto& [column, kind] : id_columns) {
    const parse_result r = parse_default(with_length(kind, column, 2049));
    ASSERT_FALSE(r.error) << column;
    EXPECT_TRUE(r.events.empty()) << column;
    ASSERT_EQ(r.rejects.size(), 1U) << column;
    EXPECT_EQ(r.rejects[0].reason, column + " is 2049 bytes, over the limit of 2048 (ingest.max_id_bytes)");
  }
}

TEST(TextLimits, UserAgentExactlyAtItsLimitIsStored) {
  const parse_result r = parse_default(with_length("logged-in", "user_agent", 1024));
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(stored_size(r.events[0], "user_agent"), 1024U);
}

TEST(TextLimits, UserAgentOneByteOverItsLimitIsARejectNamingIt) {
  const parse_result r = parse_default(with_length("logged-in", "user_agent", 1025));
  EXPECT_TRUE(r.events.empty());
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "user_agent is 1025 bytes, over the limit of 1024 (ingest.max_user_agent_bytes)");
}

TEST(TextLimits, FollowTheConfiguredLimits) {
  const parse_limits small{.max_id_bytes = 300, .max_user_agent_bytes = 100};
  EXPECT_EQ(parse_default(with_length("logged-in", "session_id", 300), small).events.size(), 1U);
  parse_result r = parse_default(with_length("logged-in", "session_id", 301), small);
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "session_id is 301 bytes, over the limit of 300 (ingest.max_id_bytes)");
  r = parse_default(with_length("logged-in", "user_agent", 101), small);
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "user_agent is 101 bytes, over the limit of 100 (ingest.max_user_agent_bytes)");
}

TEST(TextLimits, CountTheStoredBytesAfterTheTextRule) {
  // 683 ill-formed bytes are 683 U+FFFD once stored: 2049 bytes.
  const parse_result r = parse_default(with_length("logged-in", "session_name", 683, "\xFF"));
  ASSERT_FALSE(r.error);
  ASSERT_EQ(r.rejects.size(), 1U);
  EXPECT_EQ(r.rejects[0].reason, "session_name is 2049 bytes, over the limit of 2048 (ingest.max_id_bytes)");
}

TEST(TextLimits, SensorExactlyAtMaxIdBytesIsAccepted) {
  const parse_result r = parse_default(with_length("logged-in", "sensor", 2048));
  ASSERT_FALSE(r.error) << r.error->detail;
  ASSERT_EQ(r.events.size(), 1U);
  EXPECT_EQ(r.events[0].sensor.size(), 2048U);
}

TEST(TextLimits, SensorOneByteOverMaxIdBytesRefusesTheEnvelopeWith400) {
  // The sensor is the envelope's: it would be on every row, and it is the sender's setting.
  const parse_result r = parse_default(with_length("logged-in", "sensor", 2049));
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->status, 400);
  EXPECT_EQ(r.error->detail, "the envelope's sensor is 2049 bytes, over the limit of 2048 (ingest.max_id_bytes)");
  EXPECT_TRUE(r.events.empty());
  EXPECT_TRUE(r.rejects.empty());
}

}  // namespace
}  // namespace caliper_sessiond::caliper

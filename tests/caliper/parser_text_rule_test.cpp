// The text rule (text.hpp): what PostgreSQL cannot store becomes U+FFFD, never a reject.

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

}  // namespace
}  // namespace caliper_sessiond::caliper

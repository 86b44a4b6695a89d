// [privacy] applied by the parser: rows and rejects' raw JSON alike, so nothing fuller is
// journaled or stored.
#include "parser_test_support.hpp"

namespace caliper_sessiond::caliper {
namespace {

parse_result parse_with(privacy_options privacy) {
  parse_limits limits;
  limits.privacy = privacy;
  envelope_parser parser(limits);
  std::string body = test::project_fixture("events/privacy-address-and-agent.json");
  return parser.parse(body, "test", test::test_now_us);
}

TEST(ParserPrivacy, FullKeepsAddressesAndAgents) {
  const auto r = parse_with({});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].ip_address, "198.51.100.23");
  EXPECT_EQ(r.events[1].user_agent, "Safari/17.1");
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_NE(r.rejects[0].raw.find("198.51.100.77"), std::string::npos);
}

TEST(ParserPrivacy, TruncateStoresTheNetworks) {
  const auto r = parse_with({ip_privacy::truncate, user_agent_privacy::full});
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[0].ip_address, "198.51.100.0/24");
  EXPECT_EQ(r.events[1].ip_address, "2001:db8:85a3::/48");
  EXPECT_EQ(r.events[0].user_agent, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
}

TEST(ParserPrivacy, TruncateScrubsTheRejectsRawJson) {
  const auto r = parse_with({ip_privacy::truncate, user_agent_privacy::full});
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].raw.find("198.51.100.77"), std::string::npos) << r.rejects[0].raw;
  EXPECT_NE(r.rejects[0].raw.find(R"("bb:request.headers.ipAddress": "198.51.100.0/24")"), std::string::npos);
}

TEST(ParserPrivacy, DropRemovesAddressesAndAgentsFromRowsAndRejects) {
  const auto r = parse_with({ip_privacy::drop, user_agent_privacy::drop});
  ASSERT_EQ(r.events.size(), 2u);
  for (const auto& e : r.events) {
    EXPECT_EQ(e.ip_address, std::nullopt);
    EXPECT_EQ(e.user_agent, std::nullopt);
  }
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_NE(r.rejects[0].raw.find(R"("bb:request.headers.ipAddress": null, "bb:request.headers.agent": null)"),
            std::string::npos)
      << r.rejects[0].raw;
}

TEST(ParserPrivacy, DroppedAgentCannotMakeTheEventTooLong) {
  parse_limits limits;
  limits.max_user_agent_bytes = 8;
  limits.privacy.user_agent = user_agent_privacy::drop;
  envelope_parser parser(limits);
  std::string body = test::project_fixture("events/privacy-address-and-agent.json");
  const auto r = parser.parse(body, "test", test::test_now_us);
  EXPECT_EQ(r.events.size(), 2u);
}

}  // namespace
}  // namespace caliper_sessiond::caliper

// [privacy] building blocks: the one address truncation, and the scrub of raw JSON.
#include <gtest/gtest.h>

#include <string>

#include "caliper_sessiond/caliper/net.hpp"
#include "caliper_sessiond/caliper/privacy.hpp"

namespace caliper_sessiond::caliper {
namespace {

constexpr privacy_options truncate_only{ip_privacy::truncate, user_agent_privacy::full};
constexpr privacy_options drop_both{ip_privacy::drop, user_agent_privacy::drop};

TEST(TruncateIp, KeepsTheSlash24OfIpv4) { EXPECT_EQ(truncate_ip("192.0.2.201"), "192.0.2.0/24"); }

TEST(TruncateIp, KeepsTheSlash48OfIpv6) {
  EXPECT_EQ(truncate_ip("2001:db8:85a3:42:1:8a2e:370:7334"), "2001:db8:85a3::/48");
  EXPECT_EQ(truncate_ip("2001:DB8::1"), "2001:db8::/48");
}

TEST(TruncateIp, TruncatesIpv4MappedIpv6AsIpv4) { EXPECT_EQ(truncate_ip("::ffff:203.0.113.9"), "203.0.113.0/24"); }

TEST(TruncateIp, RefusesWhatIsNoAddress) {
  for (const char* text : {"", "unknown", "203.0.113.9:8080", "example.edu"}) EXPECT_EQ(truncate_ip(text), std::nullopt) << text;
}

TEST(TruncateIp, GivesTheSameForANetworkAlreadyTruncated) {
  EXPECT_EQ(truncate_ip("192.0.2.0/24"), "192.0.2.0/24");
  EXPECT_EQ(truncate_ip("2001:db8:85a3::/48"), "2001:db8:85a3::/48");
}

TEST(StoredIp, FullNormalizesTruncateCutsDropRemoves) {
  EXPECT_EQ(stored_ip(" 198.51.100.23", ip_privacy::full), "198.51.100.23");
  EXPECT_EQ(stored_ip("198.51.100.23", ip_privacy::truncate), "198.51.100.0/24");
  EXPECT_EQ(stored_ip("198.51.100.23", ip_privacy::drop), std::nullopt);
  EXPECT_EQ(stored_ip("unknown", ip_privacy::truncate), std::nullopt);
}

TEST(ScrubRaw, IsIdempotent) {
  const privacy_options o{ip_privacy::truncate, user_agent_privacy::drop};
  const std::string once = scrub_raw(R"({"ipAddress": "2001:db8:1:2::9", "userAgent": "UA"})", o);
  EXPECT_EQ(scrub_raw(once, o), once);
}

TEST(ScrubRaw, FullChangesNothing) {
  const std::string raw = R"({"ipAddress": "192.0.2.1", "userAgent": "UA/1"})";
  EXPECT_EQ(scrub_raw(raw, {}), raw);
}

TEST(ScrubRaw, TruncatesEveryAddressMemberTheParserReads) {
  EXPECT_EQ(scrub_raw(R"({"client": {"ipAddress": "192.0.2.1", "userAgent": "UA/1"}, "extensions": )"
                      R"({"bb:request.headers.ipAddress":"2001:db8:1:2::9", "com.instructure.canvas": {"client_ip" : "203.0.113.7"}}})",
                      truncate_only),
            R"({"client": {"ipAddress": "192.0.2.0/24", "userAgent": "UA/1"}, "extensions": )"
            R"({"bb:request.headers.ipAddress":"2001:db8:1::/48", "com.instructure.canvas": {"client_ip" : "203.0.113.0/24"}}})");
}

TEST(ScrubRaw, TruncateDropsAnAddressItCannotParse) {
  EXPECT_EQ(scrub_raw(R"({"ipAddress": "192.0.2.1:8443"})", truncate_only), R"({"ipAddress": null})");
}

TEST(ScrubRaw, DropReplacesAddressesAndAgentsByNull) {
  EXPECT_EQ(scrub_raw(R"({"ipAddress":"192.0.2.1","userAgent":"UA \"quoted\"","bb:request.headers.agent":"x","user_agent":"y"})",
                      drop_both),
            R"({"ipAddress":null,"userAgent":null,"bb:request.headers.agent":null,"user_agent":null})");
}

TEST(ScrubRaw, LeavesValuesThatAreNoStringAndSameWordsAsValues) {
  const std::string raw = R"({"ipAddress": 17, "name": "ipAddress", "note": "userAgent: x", "userAgent": {"a": 1}})";
  EXPECT_EQ(scrub_raw(raw, drop_both), raw);
}

TEST(ScrubRaw, DropsAValueCutShortAtTheEnd) {
  EXPECT_EQ(scrub_raw(R"({"a": 1, "ipAddress": "192.0.2.12)", drop_both), R"({"a": 1, "ipAddress": null)");
}

}  // namespace
}  // namespace caliper_sessiond::caliper

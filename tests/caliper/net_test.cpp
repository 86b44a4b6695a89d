#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "caliper_sessiond/caliper/net.hpp"

namespace caliper_sessiond::caliper {
namespace {

TEST(NormalizeIp, KeepsIpv4) { EXPECT_EQ(normalize_ip("192.0.2.44"), "192.0.2.44"); }

TEST(NormalizeIp, CompressesAndLowercasesIpv6) {
  EXPECT_EQ(normalize_ip("2001:0db8:85a3:0000:0000:8a2e:0370:7334"), "2001:db8:85a3::8a2e:370:7334");
  EXPECT_EQ(normalize_ip("2001:DB8:0:0:0:0:0:2A"), "2001:db8::2a");
  EXPECT_EQ(normalize_ip("::1"), "::1");
}

TEST(NormalizeIp, KeepsIpv4MappedIpv6) { EXPECT_EQ(normalize_ip("::FFFF:203.0.113.9"), "::ffff:203.0.113.9"); }

TEST(NormalizeIp, IgnoresSurroundingBlanks) { EXPECT_EQ(normalize_ip("  203.0.113.9\t"), "203.0.113.9"); }

TEST(NormalizeIp, TakesTheFirstEntryOfAForwardedList) {
  EXPECT_EQ(normalize_ip("203.0.113.10, 10.0.0.1"), "203.0.113.10");
}

TEST(NormalizeIp, RefusesWhatIsNoAddress) {
  for (const char* text : {"", "unknown", "203.0.113.300", "203.0.113", "203.0.113.9:8080", "[2001:db8::1]",
                           "fe80::1%eth0", "example.edu", "2001:db8::g", "0x7f.1", "1.2.3.4.5",
                           "2001:db8:85a3:0000:0000:8a2e:0370:7334:1234:5678"})
    EXPECT_EQ(normalize_ip(text), std::nullopt) << text;
}

TEST(NormalizeIp, RefusesEmbeddedNul) {
  EXPECT_EQ(normalize_ip(std::string("1.2.3.4\0junk", 12)), std::nullopt);
}

}  // namespace
}  // namespace caliper_sessiond::caliper

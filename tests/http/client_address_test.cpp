// The client address of the access log, masked with the truncation [privacy] stores (one
// implementation: caliper::truncate_ip).
#include <gtest/gtest.h>

#include "request_handler.hpp"

namespace caliper_sessiond::http {
namespace {

boost::asio::ip::tcp::endpoint peer(const char* address) {
  return {boost::asio::ip::make_address(address), 50000};
}

TEST(ClientAddress, UnmaskedIsTheAddress) { EXPECT_EQ(client_address(peer("192.0.2.201"), false), "192.0.2.201"); }

TEST(ClientAddress, MaskedIpv4IsItsSlash24) { EXPECT_EQ(client_address(peer("192.0.2.201"), true), "192.0.2.0/24"); }

TEST(ClientAddress, MaskedIpv6IsItsSlash48) {
  EXPECT_EQ(client_address(peer("2001:db8:85a3:42::1"), true), "2001:db8:85a3::/48");
}

TEST(ClientAddress, Ipv4MappedIsShownAndMaskedAsIpv4) {
  EXPECT_EQ(client_address(peer("::ffff:203.0.113.9"), false), "203.0.113.9");
  EXPECT_EQ(client_address(peer("::ffff:203.0.113.9"), true), "203.0.113.0/24");
}

}  // namespace
}  // namespace caliper_sessiond::http

#include <gtest/gtest.h>

#include <boost/asio/ip/address.hpp>

#include "connection_limits.hpp"

namespace http = caliper_sessiond::http;
using verdict = http::connection_limits::verdict;
using boost::asio::ip::make_address;

TEST(connection_limits, refuses_an_address_over_its_share_but_not_others) {
  http::connection_limits limits(100, 2);
  const auto a = make_address("192.0.2.1"), b = make_address("192.0.2.2");
  EXPECT_EQ(limits.acquire(a), verdict::accepted);
  EXPECT_EQ(limits.acquire(a), verdict::accepted);
  EXPECT_EQ(limits.acquire(a), verdict::max_connections_per_ip);
  EXPECT_EQ(limits.acquire(b), verdict::accepted);
  EXPECT_EQ(limits.open(), 3u);
  EXPECT_EQ(limits.open_from(a), 2u);
}

TEST(connection_limits, refuses_over_the_total) {
  http::connection_limits limits(2, 10);
  EXPECT_EQ(limits.acquire(make_address("192.0.2.1")), verdict::accepted);
  EXPECT_EQ(limits.acquire(make_address("192.0.2.2")), verdict::accepted);
  EXPECT_EQ(limits.acquire(make_address("192.0.2.3")), verdict::max_connections);
}

TEST(connection_limits, a_released_slot_can_be_taken_again) {
  http::connection_limits limits(100, 1);
  const auto a = make_address("2001:db8::1");
  {
    ASSERT_EQ(limits.acquire(a), verdict::accepted);
    http::connection_slot slot(limits, a);
    EXPECT_EQ(limits.acquire(a), verdict::max_connections_per_ip);
  }
  EXPECT_EQ(limits.open(), 0u);
  EXPECT_EQ(limits.acquire(a), verdict::accepted);
}

TEST(connection_limits, ipv4_mapped_ipv6_counts_as_ipv4) {
  http::connection_limits limits(100, 1);
  EXPECT_EQ(limits.acquire(make_address("192.0.2.7")), verdict::accepted);
  EXPECT_EQ(limits.acquire(make_address("::ffff:192.0.2.7")), verdict::max_connections_per_ip);
}

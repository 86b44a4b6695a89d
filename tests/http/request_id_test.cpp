#include <gtest/gtest.h>

#include <set>
#include <string>

#include "request_id.hpp"

namespace http = caliper_sessiond::http;

TEST(request_id, is_sixteen_hex_digits) {
  for (int i = 0; i < 1000; ++i) {
    const auto id = http::random_request_id();
    ASSERT_EQ(id.size(), 16u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
}

TEST(request_id, does_not_repeat_or_count_up) {
  std::set<std::string> seen;
  std::uint64_t previous = 0;
  int ascending = 0;
  for (int i = 0; i < 5000; ++i) {  // more than one batch of the per-thread pool
    const auto id = http::random_request_id();
    EXPECT_TRUE(seen.insert(id).second) << id;
    const auto value = std::stoull(id, nullptr, 16);
    if (value == previous + 1) ++ascending;
    previous = value;
  }
  EXPECT_EQ(ascending, 0);
}

#include "caliper_sessiond/metrics/log_throttle.hpp"

#include <gtest/gtest.h>

namespace {

using caliper_sessiond::metrics::log_throttle;
using namespace std::chrono_literals;

TEST(LogThrottle, FirstOccurrenceIsLoggedAtOnce) {
  log_throttle t(10s);
  EXPECT_EQ(t.occur(log_throttle::clock::time_point{} + 1s), 1U);
}

TEST(LogThrottle, RepeatsWithinTheIntervalAreHeldBackAndCountedInTheNextLine) {
  log_throttle t(10s);
  const auto t0 = log_throttle::clock::time_point{} + 100s;
  ASSERT_EQ(t.occur(t0), 1U);
  for (int i = 1; i <= 999; ++i) EXPECT_FALSE(t.occur(t0 + std::chrono::milliseconds(i)).has_value());
  EXPECT_EQ(t.pending(), 999U);
  EXPECT_EQ(t.occur(t0 + 10s), 1000U);  // the 999 held back plus this one
  EXPECT_EQ(t.pending(), 0U);
}

TEST(LogThrottle, AQuietIntervalLogsTheNextOneAtOnce) {
  log_throttle t(1s);
  const auto t0 = log_throttle::clock::time_point{} + 50s;
  ASSERT_EQ(t.occur(t0), 1U);
  EXPECT_EQ(t.occur(t0 + 5s), 1U);
}

}  // namespace

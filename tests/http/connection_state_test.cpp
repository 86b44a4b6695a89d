// The read deadline of a connection (connection_state::arm/disarm), lazy about its timer: each
// case runs the io_context until it has no work left, so a wait that outlives its use, or a
// deadline that never fires, shows as a wrong count or time rather than a hang.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <memory>

#include "connection_state.hpp"

namespace caliper_sessiond::http {
namespace {

using namespace std::chrono_literals;
using clock = connection_state::clock;

class counted_state final : public connection_state {
public:
  explicit counted_state(boost::asio::io_context& ioc) : connection_state(ioc.get_executor()) {}
  void cancel_io() override {
    ++cancels;
    cancelled_at = clock::now();
  }
  int cancels = 0;
  clock::time_point cancelled_at{};
};

struct connection_state_test : ::testing::Test {
  boost::asio::io_context ioc;
  std::shared_ptr<counted_state> conn = std::make_shared<counted_state>(ioc);
  clock::time_point start = clock::now();
  /// Runs until no wait is left (bounded: a deadline that re-waits forever fails the test).
  void run_out() {
    ioc.run_for(10s);
    ASSERT_TRUE(ioc.stopped()) << "a wait was still in flight after 10 s";
  }
};

TEST_F(connection_state_test, fires_at_the_deadline_and_says_so_until_the_next_arm) {
  conn->arm(start + 30ms);
  run_out();
  EXPECT_EQ(conn->cancels, 1);
  EXPECT_GE(conn->cancelled_at - start, 30ms);
  EXPECT_TRUE(conn->timed_out());
  conn->arm(clock::now() + 1h);
  EXPECT_FALSE(conn->timed_out());
}

TEST_F(connection_state_test, disarmed_before_the_deadline_never_fires) {
  conn->arm(start + 30ms);
  conn->disarm();
  run_out();  // the wait in flight ends at 30 ms, finds no deadline and stops
  EXPECT_EQ(conn->cancels, 0);
  EXPECT_FALSE(conn->timed_out());
}

TEST_F(connection_state_test, a_later_deadline_is_kept_by_the_wait_in_flight) {
  // A request: head armed and disarmed, then the body armed with a later deadline.
  conn->arm(start + 30ms);
  conn->disarm();
  conn->arm(start + 150ms);
  run_out();
  EXPECT_EQ(conn->cancels, 1);
  EXPECT_GE(conn->cancelled_at - start, 150ms);
}

TEST_F(connection_state_test, an_earlier_deadline_replaces_the_wait_in_flight) {
  conn->arm(start + 1h);
  conn->disarm();
  conn->arm(start + 30ms);
  run_out();  // returns at once after 30 ms: the hour-long wait was aborted, not left behind
  EXPECT_EQ(conn->cancels, 1);
  EXPECT_GE(conn->cancelled_at - start, 30ms);
  EXPECT_LT(clock::now() - start, 5s);
}

TEST_F(connection_state_test, many_requests_then_a_stall_fire_once_at_the_last_deadline) {
  for (int i = 0; i < 1000; ++i) {
    conn->arm(clock::now() + 40ms);
    conn->disarm();
  }
  const auto last = clock::now() + 80ms;
  conn->arm(last);
  run_out();
  EXPECT_EQ(conn->cancels, 1);
  EXPECT_GE(conn->cancelled_at, last);
}

TEST_F(connection_state_test, a_deadline_in_the_past_fires_at_once) {
  conn->arm(start - 1s);
  run_out();
  EXPECT_EQ(conn->cancels, 1);
  EXPECT_TRUE(conn->timed_out());
}

TEST_F(connection_state_test, stopped_leaves_no_wait_behind_and_never_fires) {
  conn->arm(start + 1h);
  conn->disarm();
  conn->stop_deadline();
  run_out();
  EXPECT_LT(clock::now() - start, 5s);
  EXPECT_EQ(conn->cancels, 0);
  conn->arm(clock::now() + 20ms);  // and the next arm() waits again
  ioc.restart();
  run_out();
  EXPECT_EQ(conn->cancels, 1);
}

TEST_F(connection_state_test, a_state_destroyed_while_armed_leaves_no_wait_behind) {
  conn->arm(start + 1h);
  conn.reset();
  run_out();
  EXPECT_LT(clock::now() - start, 5s);
}

}  // namespace
}  // namespace caliper_sessiond::http

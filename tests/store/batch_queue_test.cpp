#include "batch_queue.hpp"

#include <gtest/gtest.h>

namespace caliper_sessiond::store {
namespace {

using namespace std::chrono_literals;

queued_item item(std::size_t events, clock::time_point at) {
  queued_item it;
  it.batch.events.resize(events);
  it.enqueued = at;
  return it;
}

const clock::time_point t0 = clock::time_point{} + 1h;

TEST(batch_queue_test, refuses_past_the_backlog_limit) {
  batch_queue q(10, 100, 5ms);
  EXPECT_TRUE(q.try_push(item(4, t0)));
  EXPECT_TRUE(q.try_push(item(6, t0)));
  EXPECT_FALSE(q.try_push(item(1, t0)));
  EXPECT_EQ(q.rows(), 10U);
}

TEST(batch_queue_test, takes_one_oversized_item_when_empty) {
  batch_queue q(10, 100, 5ms);
  EXPECT_TRUE(q.try_push(item(50, t0)));
  EXPECT_FALSE(q.try_push(item(1, t0)));
}

TEST(batch_queue_test, due_after_the_delay_or_at_once_when_a_batch_is_full) {
  batch_queue q(1000, 10, 5ms);
  EXPECT_FALSE(q.due_at());
  ASSERT_TRUE(q.try_push(item(3, t0)));
  EXPECT_EQ(q.due_at(), t0 + 5ms);
  ASSERT_TRUE(q.try_push(item(7, t0 + 1ms)));
  EXPECT_EQ(q.due_at(), t0);
}

TEST(batch_queue_test, take_batch_cuts_at_the_row_limit_but_takes_at_least_one_item) {
  batch_queue q(1000, 10, 5ms);
  ASSERT_TRUE(q.try_push(item(4, t0)));
  ASSERT_TRUE(q.try_push(item(5, t0)));
  ASSERT_TRUE(q.try_push(item(2, t0)));
  ASSERT_TRUE(q.try_push(item(30, t0)));
  EXPECT_EQ(q.take_batch().size(), 2U);  // 4 + 5; the 2 would make 11
  EXPECT_EQ(q.take_batch().size(), 1U);  // 2; then 30 would pass the limit
  EXPECT_EQ(q.take_batch().size(), 1U);  // 30 alone
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.rows(), 0U);
}

TEST(batch_queue_test, take_older_than_removes_only_expired_items) {
  batch_queue q(1000, 10, 5ms);
  ASSERT_TRUE(q.try_push(item(1, t0)));
  ASSERT_TRUE(q.try_push(item(2, t0 + 10ms)));
  EXPECT_EQ(q.take_older_than(t0 + 5ms).size(), 1U);
  EXPECT_EQ(q.rows(), 2U);
  EXPECT_EQ(q.oldest(), t0 + 10ms);
}

}  // namespace
}  // namespace caliper_sessiond::store

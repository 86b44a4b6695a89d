#include <gtest/gtest.h>

#include <atomic>

#include "caliper_sessiond/journal/journal.hpp"
#include "files.hpp"
#include "journal_test_support.hpp"

namespace j = caliper_sessiond::journal;
namespace store = caliper_sessiond::store;
using namespace j::testing;

namespace {

void submit_n(j::journal& jr, int n, const std::string& tag = "b") {
  auto done = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(jr.submit(make_batch(tag + std::to_string(i)), [done](auto, const auto&) { ++*done; }));
  ASSERT_TRUE(eventually([&] { return *done == n; }));
}

}  // namespace

TEST(journal_drain, out_of_order_commits_advance_the_checkpoint_to_the_end) {
  temp_dir d;
  {
    fake_sink down(fake_sink::mode::hold);
    j::journal jr(small_segments(d), down);
    submit_n(jr, 5);
    ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 5; }));
    EXPECT_FALSE(jr.drained());
    down.release();  // newest first
    ASSERT_TRUE(eventually([&] { return jr.drained(); }));
    EXPECT_EQ(jr.stats().records_committed.load(), 5u);
    jr.stop(std::chrono::milliseconds(100));
  }
  fake_sink again;
  j::journal jr(small_segments(d), again);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_TRUE(again.ids().empty());
}

TEST(journal_drain, checkpoint_waits_for_the_first_uncommitted_record) {
  temp_dir d;
  {
    fake_sink down(fake_sink::mode::hold);
    j::journal jr(small_segments(d), down);
    submit_n(jr, 3);
    ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 3; }));
    // The writer never confirms; stopping fails what it holds.
    jr.stop(std::chrono::milliseconds(0), [&](std::chrono::milliseconds) { down.release(store::outcome::unavailable); });
  }
  fake_sink again;
  j::journal jr(small_segments(d), again);
  ASSERT_TRUE(again.wait_for([](const fake_sink& s) { return s.ids().size() == 6; }));
}

TEST(journal_drain, records_refused_by_the_writer_are_retried) {
  temp_dir d;
  fake_sink down(fake_sink::mode::refuse);
  j::journal jr(small_segments(d), down);
  submit_n(jr, 4);
  EXPECT_TRUE(down.ids().empty());
  // The drainer has tried and holds the oldest record: the backlog has an age.
  EXPECT_TRUE(eventually([&] { return jr.stats().oldest_uncommitted_us.load() > 0; }));
  down.set_mode(fake_sink::mode::commit);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids().size(), 8u);
  EXPECT_EQ(jr.stats().oldest_uncommitted_us.load(), 0);
}

TEST(journal_drain, a_batch_the_writer_gave_up_on_is_sent_again) {
  temp_dir d;
  fake_sink down(fake_sink::mode::hold);
  j::journal jr(small_segments(d), down);
  submit_n(jr, 2);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 2; }));
  down.set_mode(fake_sink::mode::commit);
  down.release(store::outcome::unavailable);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids().size(), 8u);  // 2 batches of 2 events, sent twice
}

TEST(journal_drain, committed_segments_are_deleted) {
  temp_dir d;
  fake_sink down;
  j::journal jr(small_segments(d), down);
  for (int round = 0; round < 5; ++round) submit_n(jr, 20, std::string("r").append(std::to_string(round)).append("-"));
  ASSERT_TRUE(eventually([&] { return jr.drained() && jr.stats().segments.load() <= 2; }));
  EXPECT_LE(j::list_segments(d.path()).size(), 2u);
  EXPECT_LT(jr.stats().bytes.load(), 2u * 16 * 1024 + 8192);
}

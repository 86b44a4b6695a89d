// Issue 14: committed records are retained for journal_options::retain and sent again when the
// writer reports another database server or timeline (a failover); retained records never make
// the journal refuse new ones.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "caliper_sessiond/journal/journal.hpp"
#include "journal_test_support.hpp"

namespace j = caliper_sessiond::journal;
namespace store = caliper_sessiond::store;
using namespace j::testing;
using namespace std::chrono_literals;

namespace {

j::journal_options options_for(const temp_dir& d, std::chrono::seconds retain) {
  auto o = small_segments(d);
  o.retain = retain;
  return o;
}

/// A batch received now (retention counts from the time a request was received).
store::ingest_batch batch_now(const std::string& tag) {
  auto b = make_batch(tag);
  b.received_at_us = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  return b;
}

/// Submits n batches of 2 events and waits until all are committed downstream.
void submit_committed(j::journal& jr, int n, const std::string& tag) {
  auto done = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(jr.submit(batch_now(tag + std::to_string(i)), [done](auto, const auto&) { ++*done; })) << i;
  ASSERT_TRUE(eventually([&] { return *done == n && jr.drained(); }));
}

}  // namespace

TEST(journal_retention, another_server_identity_sends_the_committed_records_again) {
  temp_dir d;
  fake_sink down;
  j::journal jr(options_for(d, 600s), down);
  jr.server_identity("7001/1");
  submit_committed(jr, 5, "a");
  ASSERT_EQ(down.ids().size(), 10u);
  jr.server_identity("7001/1");  // a reconnection to the same server: nothing to do
  EXPECT_EQ(jr.stats().failover_replays.load(), 0u);
  jr.server_identity("7001/2");  // the standby was promoted: a new timeline
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.ids().size() == 20; })) << down.ids().size();
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(jr.stats().failover_replays.load(), 1u);
  EXPECT_EQ(jr.stats().records_replayed.load(), 5u);
  // Then new records go on as usual, once each.
  submit_committed(jr, 1, "b");
  EXPECT_EQ(down.ids().size(), 22u);
}

TEST(journal_retention, without_retention_another_server_gets_nothing_again) {
  temp_dir d;
  fake_sink down;
  j::journal jr(options_for(d, 0s), down);
  jr.server_identity("7001/1");
  submit_committed(jr, 5, "a");
  jr.server_identity("7001/2");
  EXPECT_TRUE(jr.drained());
  EXPECT_EQ(jr.stats().failover_replays.load(), 1u);
  EXPECT_EQ(jr.stats().records_replayed.load(), 0u);
  EXPECT_EQ(down.ids().size(), 10u);
}

TEST(journal_retention, the_server_identity_survives_a_restart) {
  temp_dir d;
  {
    fake_sink down;
    j::journal jr(options_for(d, 600s), down);
    jr.server_identity("7001/1");
    submit_committed(jr, 3, "a");
    jr.stop(100ms);
  }
  fake_sink down;
  j::journal jr(options_for(d, 600s), down);
  jr.server_identity("7001/1");  // the same server as before the restart: nothing again
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_TRUE(down.ids().empty());
  jr.server_identity("9999/1");  // failed over while this process was down
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.ids().size() == 6; })) << down.ids().size();
}

TEST(journal_retention, retained_records_make_room_for_new_ones) {
  temp_dir d;
  fake_sink down;
  auto o = options_for(d, 600s);
  o.max_bytes = 64 * 1024;  // four segments
  j::journal jr(o, down);
  // Several times max_bytes in all: every submit is taken, the retained ones are dropped.
  for (int round = 0; round < 20; ++round) submit_committed(jr, 40, std::string("r").append(std::to_string(round)).append("-"));
  EXPECT_GT(jr.stats().retained_dropped_bytes.load(), 0u);
  EXPECT_GT(jr.stats().retained_bytes.load(), 0u);
  EXPECT_LE(jr.stats().bytes.load(), o.max_bytes);
  EXPECT_EQ(jr.stats().refused.load(), 0u);
}

TEST(journal_retention, retained_segments_are_deleted_after_the_window) {
  temp_dir d;
  fake_sink down;
  j::journal jr(options_for(d, 1s), down);
  for (int round = 0; round < 3; ++round) submit_committed(jr, 40, std::string("r").append(std::to_string(round)).append("-"));
  ASSERT_GT(jr.stats().retained_bytes.load(), 0u);
  EXPECT_TRUE(eventually([&] { return jr.stats().retained_bytes.load() == 0; }, 5s));
  EXPECT_LE(jr.stats().segments.load(), 2u);
}

TEST(journal_retention, a_replay_cut_short_by_a_stop_goes_on_at_the_next_start) {
  temp_dir d;
  {
    fake_sink down;
    j::journal jr(options_for(d, 600s), down);
    jr.server_identity("7001/1");
    submit_committed(jr, 3, "a");
    down.set_mode(fake_sink::mode::hold);
    jr.server_identity("7001/2");
    ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 3; }));
    jr.stop(0ms, [&](std::chrono::milliseconds) { down.release(store::outcome::unavailable); });
  }
  // The new server is remembered, and so is the checkpoint the replay moved back.
  fake_sink down;
  j::journal jr(options_for(d, 600s), down);
  jr.server_identity("7001/2");
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.ids().size() == 6; })) << down.ids().size();
  EXPECT_EQ(jr.stats().failover_replays.load(), 0u);
}

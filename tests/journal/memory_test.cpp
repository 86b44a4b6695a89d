// The drainer hands fsync'd records to the writer from memory; it reads the segment files only
// at replay, after a rewind, after the writer refused, and past the memory budget.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <memory>

#include "caliper_sessiond/journal/journal.hpp"
#include "journal_test_support.hpp"
#include "record.hpp"

namespace j = caliper_sessiond::journal;
namespace store = caliper_sessiond::store;
using namespace j::testing;

namespace {

std::string tag(const std::string& prefix, int i) { return prefix + std::to_string(i); }

/// Submits "<prefix>0".."<prefix><n-1>" and waits until all are fsync'd (answered committed).
void submit_n(j::journal& jr, int n, const std::string& prefix = "b") {
  auto done = std::make_shared<std::atomic<int>>(0);
  for (int i = 0; i < n; ++i)
    ASSERT_TRUE(jr.submit(make_batch(tag(prefix, i)), [done](store::outcome o, const store::commit_report&) {
      if (o == store::outcome::committed) ++*done;
    }));
  ASSERT_TRUE(eventually([&] { return *done == n; }));
}

/// The batches "<prefix>0".."<prefix><n-1>", encoded: what the writer must get, in this order.
std::vector<std::string> expected(int n, const std::string& prefix = "b") {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(j::encode_batch(make_batch(tag(prefix, i))));
  return out;
}

std::vector<std::string> received(const fake_sink& s) {
  std::vector<std::string> out;
  for (const auto& b : s.batches()) out.push_back(j::encode_batch(b));
  return out;
}

/// Event ids of batches "b<i>" in this order.
std::vector<std::string> ids_of(std::initializer_list<int> batches) {
  std::vector<std::string> out;
  for (int b : batches)
    for (int e = 0; e < 2; ++e) out.push_back(tag("b", b).append("-").append(std::to_string(e)));
  return out;
}

}  // namespace

TEST(journal_memory, fsynced_records_reach_the_writer_without_a_disk_read) {
  temp_dir d;
  fake_sink down;
  j::journal jr(small_segments(d), down);
  submit_n(jr, 200);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(received(down), expected(200));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 0u);
  EXPECT_EQ(jr.stats().records_committed.load(), 200u);
  EXPECT_GT(jr.stats().fsyncs.load(), 0u);
}

TEST(journal_memory, records_after_the_checkpoint_are_read_from_disk_at_start) {
  temp_dir d;
  {
    fake_sink refusing(fake_sink::mode::refuse);
    j::journal jr(small_segments(d), refusing);
    submit_n(jr, 5);
    jr.stop(std::chrono::milliseconds(0));
  }
  fake_sink down;
  j::journal jr(small_segments(d), down);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(received(down), expected(5));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 5u);
  // Once replayed, new records come from memory again.
  submit_n(jr, 3, "n");
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.batches().size(), 8u);
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 5u);
}

TEST(journal_memory, a_rewind_sends_the_uncommitted_records_again_from_disk) {
  temp_dir d;
  fake_sink down(fake_sink::mode::hold);
  j::journal jr(small_segments(d), down);
  submit_n(jr, 3);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 3; }));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 0u);
  down.set_mode(fake_sink::mode::commit);
  down.release(store::outcome::unavailable);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids(), ids_of({0, 1, 2, 0, 1, 2}));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 3u);
}

TEST(journal_memory, after_a_rewind_the_records_not_yet_handed_still_come_from_memory) {
  temp_dir d;
  fake_sink down(fake_sink::mode::hold);
  auto o = small_segments(d);
  o.drain_inflight_events = 3;  // one batch (2 events, 1 reject) at a time
  j::journal jr(o, down);
  submit_n(jr, 4);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 1; }));
  down.set_mode(fake_sink::mode::commit);
  down.release(store::outcome::unavailable);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids(), ids_of({0, 0, 1, 2, 3}));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 1u);
}

TEST(journal_memory, past_the_memory_budget_records_are_read_from_disk_in_order) {
  temp_dir d;
  fake_sink down(fake_sink::mode::hold);
  auto o = small_segments(d);
  o.drain_inflight_events = 3;
  o.memory_bytes = 4000;  // a few records
  j::journal jr(o, down);
  submit_n(jr, 60);
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.held() == 1; }));
  down.set_mode(fake_sink::mode::commit);
  down.release();
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(received(down), expected(60));
  const auto from_disk = jr.stats().records_read_from_disk.load();
  EXPECT_GT(from_disk, 0u);
  EXPECT_LT(from_disk, 59u);
  // Caught up: the next records come from memory again (one at a time, so each fits the budget).
  for (int i = 0; i < 3; ++i) {
    submit_n(jr, 1, tag("n", i));
    ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  }
  EXPECT_EQ(down.batches().size(), 63u);
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), from_disk);
}

// The budget counts the memory a cached record holds: its rows' room, not only their number.
TEST(journal_memory, a_batch_that_holds_more_room_than_rows_is_counted_by_its_room) {
  temp_dir d;
  fake_sink down;
  auto o = small_segments(d);
  o.memory_bytes = 64 << 10;
  j::journal jr(o, down);
  auto roomy = make_batch("r");
  roomy.events.reserve(4096);  // 2 rows: a few hundred bytes; their room: far past 64 KiB
  ASSERT_GT(roomy.events.capacity() * sizeof(roomy.events[0]), o.memory_bytes);
  auto done = std::make_shared<std::atomic<int>>(0);
  ASSERT_TRUE(jr.submit(std::move(roomy), [done](store::outcome, const store::commit_report&) { ++*done; }));
  ASSERT_TRUE(eventually([&] { return *done == 1 && jr.drained(); }));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 1u);
  // The same rows without the spare room fit, and come from memory.
  submit_n(jr, 1, "s");
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.batches().size(), 2u);
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 1u);
}

TEST(journal_memory, a_batch_whose_write_failed_never_reaches_the_writer) {
  temp_dir d;
  fake_sink down;
  auto o = small_segments(d);
  o.failure_backoff = std::chrono::milliseconds(100);
  j::journal jr(o, down);
  submit_n(jr, 1);
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));

  // Files may not grow past 1 byte: the next write fails with EFBIG, as a full disk would.
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit tiny = old;
  tiny.rlim_cur = 1;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  std::atomic<bool> unavailable{false};
  ASSERT_TRUE(jr.submit(make_batch("fails"), [&](store::outcome r, const store::commit_report&) {
    unavailable = r == store::outcome::unavailable;
  }));
  const bool failed = eventually([&] { return unavailable.load(); });
  ::setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_TRUE(failed);

  ASSERT_TRUE(eventually([&] { return jr.submit(make_batch("after"), {}); }));
  ASSERT_TRUE(down.wait_for([](const fake_sink& s) { return s.batches().size() == 2; }));
  ASSERT_TRUE(eventually([&] { return jr.drained(); }));
  EXPECT_EQ(down.ids(), (std::vector<std::string>{"b0-0", "b0-1", "after-0", "after-1"}));
  EXPECT_EQ(jr.stats().records_read_from_disk.load(), 0u);
}

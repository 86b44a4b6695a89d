#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "caliper_sessiond/journal/journal.hpp"
#include "journal_test_support.hpp"

namespace j = caliper_sessiond::journal;
namespace store = caliper_sessiond::store;
using namespace j::testing;

namespace {

j::journal_options options_for(const temp_dir& d) {
  j::journal_options o;
  o.dir = d.path();
  o.segment_bytes = 64 * 1024;
  o.max_bytes = 1 << 20;
  o.failure_backoff = std::chrono::milliseconds(200);
  return o;
}

/// Counts completions by outcome.
struct outcomes {
  std::atomic<int> committed{0}, unavailable{0};
  store::completion callback() {
    return [this](store::outcome o, const store::commit_report&) {
      (o == store::outcome::committed ? committed : unavailable)++;
    };
  }
};

}  // namespace

TEST(journal_group_commit, every_request_is_answered_committed_after_an_fsync) {
  temp_dir d;
  fake_sink sink(fake_sink::mode::refuse);  // nothing drains: the journal alone answers
  j::journal jr(options_for(d), sink);
  outcomes out;
  ASSERT_TRUE(jr.submit(make_batch("a"), out.callback()));
  ASSERT_TRUE(eventually([&] { return out.committed == 1; }));
  EXPECT_GE(jr.stats().fsyncs.load(), 1u);
  EXPECT_EQ(out.unavailable, 0);
}

TEST(journal_group_commit, one_fsync_covers_requests_that_arrived_meanwhile) {
  temp_dir d;
  fake_sink sink(fake_sink::mode::refuse);
  auto o = options_for(d);
  o.max_bytes = 64 << 20;
  o.segment_bytes = 16 << 20;
  j::journal jr(o, sink);
  outcomes out;
  constexpr int threads = 8, per_thread = 100;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i)
        ASSERT_TRUE(jr.submit(make_batch(std::string("t").append(std::to_string(t)).append("-").append(std::to_string(i))), out.callback()));
    });
  for (auto& t : ts) t.join();
  ASSERT_TRUE(eventually([&] { return out.committed == threads * per_thread; }));
  EXPECT_LT(jr.stats().fsyncs.load(), static_cast<std::uint64_t>(threads * per_thread));
  EXPECT_EQ(jr.stats().records_appended.load(), static_cast<std::uint64_t>(threads * per_thread));
}

TEST(journal_group_commit, size_bound_refuses_and_recovers_once_drained) {
  temp_dir d;
  fake_sink sink(fake_sink::mode::refuse);  // the database is "down"
  auto o = options_for(d);
  o.max_bytes = 256 * 1024;
  o.segment_bytes = 16 * 1024;
  j::journal jr(o, sink);
  outcomes out;
  int accepted = 0;
  while (jr.submit(make_batch("fill" + std::to_string(accepted), 10), out.callback())) ++accepted;
  EXPECT_GT(accepted, 10);
  EXPECT_FALSE(jr.ready());
  EXPECT_LE(jr.stats().bytes.load(), o.max_bytes);
  ASSERT_TRUE(eventually([&] { return out.committed == accepted; }));
  sink.set_mode(fake_sink::mode::commit);  // the database is back
  ASSERT_TRUE(eventually([&] { return jr.drained() && jr.ready(); }));
  EXPECT_TRUE(jr.submit(make_batch("after"), out.callback()));
  EXPECT_EQ(sink.ids().size(), static_cast<std::size_t>(accepted) * 10);
}

TEST(journal_group_commit, a_restart_on_a_full_journal_is_not_ready_until_it_has_drained) {
  // /readyz must not send traffic to an instance that would refuse it: after a restart the
  // journal knows the size of a request from the last record it holds, also after a second
  // restart, when the last segment (made by a start that was refused everything) is empty.
  temp_dir d;
  auto o = options_for(d);
  o.max_bytes = 512 * 1024;
  o.segment_bytes = 64 * 1024;
  constexpr std::size_t events = 400;  // records well over the 8 KiB assumed when none is known
  int accepted = 0;
  {
    fake_sink down(fake_sink::mode::refuse);
    j::journal jr(o, down);
    outcomes out;
    while (jr.submit(make_batch("fill" + std::to_string(accepted), events), out.callback())) ++accepted;
    ASSERT_TRUE(eventually([&] { return out.committed == accepted; }));
    jr.stop(std::chrono::milliseconds(0));
  }
  for (int restart = 1; restart <= 2; ++restart) {
    fake_sink down(fake_sink::mode::refuse);  // still down: nothing drains
    j::journal jr(o, down);
    EXPECT_FALSE(jr.ready()) << "restart " << restart << ": " << jr.stats().bytes.load() << " bytes journaled";
    outcomes out;
    EXPECT_FALSE(jr.submit(make_batch("refused", events), out.callback())) << "restart " << restart;
    jr.stop(std::chrono::milliseconds(0));
  }
  fake_sink sink(fake_sink::mode::hold);  // the database is back, but slow to commit
  j::journal jr(o, sink);
  EXPECT_FALSE(jr.ready()) << jr.stats().bytes.load() << " bytes journaled";
  ASSERT_TRUE(sink.wait_for([](const fake_sink& s) { return s.held() > 0; }));
  sink.set_mode(fake_sink::mode::commit);
  sink.release();
  ASSERT_TRUE(eventually([&] { return jr.drained() && jr.ready(); }));
  outcomes out;
  EXPECT_TRUE(jr.submit(make_batch("after", events), out.callback()));
}

TEST(journal_group_commit, write_failure_answers_unavailable_then_recovers) {
  temp_dir d;
  fake_sink sink(fake_sink::mode::refuse);
  j::journal jr(options_for(d), sink);
  outcomes out;
  ASSERT_TRUE(jr.submit(make_batch("before"), out.callback()));
  ASSERT_TRUE(eventually([&] { return out.committed == 1; }));

  // Files may not grow past 1 byte: the next write fails with EFBIG, as a full disk would.
  ::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  ::getrlimit(RLIMIT_FSIZE, &old);
  rlimit tiny = old;
  tiny.rlim_cur = 1;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tiny), 0);
  ASSERT_TRUE(jr.submit(make_batch("fails"), out.callback()));
  const bool failed = eventually([&] { return out.unavailable == 1; });
  ::setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_TRUE(failed);
  EXPECT_EQ(out.committed, 1);
  EXPECT_FALSE(jr.ready());
  EXPECT_EQ(jr.stats().write_errors.load(), 1u);

  // After the backoff a submit is tried again; its success makes the journal ready again.
  ASSERT_TRUE(eventually([&] { return jr.submit(make_batch("after"), out.callback()); }));
  ASSERT_TRUE(eventually([&] { return out.committed == 2; }));
  EXPECT_TRUE(jr.ready());
  sink.set_mode(fake_sink::mode::commit);
  ASSERT_TRUE(sink.wait_for([](const fake_sink& s) { return s.ids().size() == 4; }));
  const auto ids = sink.ids();
  EXPECT_EQ(ids.front(), "before-0");
  EXPECT_EQ(ids.back(), "after-1");
}

TEST(journal_group_commit, stopped_journal_refuses) {
  temp_dir d;
  fake_sink sink;
  j::journal jr(options_for(d), sink);
  jr.stop(std::chrono::milliseconds(0));
  outcomes out;
  EXPECT_FALSE(jr.submit(make_batch("late"), out.callback()));
  EXPECT_FALSE(jr.ready());
}

TEST(journal_group_commit, a_second_process_cannot_open_the_same_directory) {
  temp_dir d;
  fake_sink sink;
  j::journal first(options_for(d), sink);
  EXPECT_THROW(j::journal(options_for(d), sink), std::runtime_error);
}

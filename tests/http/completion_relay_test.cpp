// The relay that brings the store's completions back to the I/O threads: one post per burst,
// each completion on its own strand, and nothing kept alive by a relay whose io_context stopped.

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "completion_relay.hpp"

namespace {

namespace net = boost::asio;
using caliper_sessiond::http::completion_relay;

TEST(completion_relay, a_burst_takes_one_post_and_each_completion_runs_on_its_strand) {
  net::io_context ioc;
  auto relay = std::make_shared<completion_relay>(ioc.get_executor());
  std::vector<net::strand<net::io_context::executor_type>> strands;
  for (int i = 0; i < 10; ++i) strands.push_back(net::make_strand(ioc));
  constexpr int n = 100;
  std::atomic<int> ran{0}, on_strand{0};
  std::atomic<bool> delivering{true};
  std::atomic<int> inline_runs{0};
  // From another thread, as the journal's flusher does after a group commit.
  std::thread flusher([&] {
    for (int i = 0; i < n; ++i) {
      auto strand = strands[static_cast<std::size_t>(i) % strands.size()];
      relay->deliver(strand, [&, strand] {
        ++ran;
        if (strand.running_in_this_thread()) ++on_strand;
        if (delivering) ++inline_runs;
      });
    }
  });
  flusher.join();
  delivering = false;
  EXPECT_EQ(ran, 0) << "nothing runs before the io_context does";
  std::thread other([&] { ioc.run(); });
  ioc.run();
  other.join();
  EXPECT_EQ(ran, n);
  EXPECT_EQ(on_strand, n);
  EXPECT_EQ(inline_runs, 0);
  EXPECT_EQ(relay->delivered(), static_cast<std::size_t>(n));
  EXPECT_EQ(relay->runs(), 1u) << "the whole burst arrived before the run: one post";
}

TEST(completion_relay, later_completions_take_a_new_run) {
  net::io_context ioc;
  auto relay = std::make_shared<completion_relay>(ioc.get_executor());
  auto strand = net::make_strand(ioc);
  int ran = 0;
  for (int round = 0; round < 3; ++round) {
    relay->deliver(strand, [&] { ++ran; });
    relay->deliver(strand, [&] { ++ran; });
    ioc.restart();
    ioc.run();
    EXPECT_EQ(ran, 2 * (round + 1));
  }
  EXPECT_EQ(relay->runs(), 3u);
}

TEST(completion_relay, each_io_context_has_its_own_lane_and_thread) {
  // The server runs one io_context per I/O thread: a completion must be run by the thread of
  // its connection's io_context, from a run posted to that io_context only.
  net::io_context a(1), b(1);
  auto relay = std::make_shared<completion_relay>(std::vector{a.get_executor(), b.get_executor()});
  auto sa = net::make_strand(a);
  auto sb = net::make_strand(b);
  std::atomic<int> ran_a{0}, ran_b{0}, wrong{0};
  std::thread::id thread_a, thread_b;
  for (int i = 0; i < 10; ++i) {
    relay->deliver(sa, [&] {
      ++ran_a;
      if (std::this_thread::get_id() != thread_a || !sa.running_in_this_thread()) ++wrong;
    });
    relay->deliver(sb, [&] {
      ++ran_b;
      if (std::this_thread::get_id() != thread_b || !sb.running_in_this_thread()) ++wrong;
    });
  }
  EXPECT_EQ(relay->runs(), 2u) << "one run per lane";
  // Only b's thread runs first: a's completions must wait for a's own thread.
  std::thread tb([&] {
    thread_b = std::this_thread::get_id();
    b.run();
  });
  tb.join();
  EXPECT_EQ(ran_b, 10);
  EXPECT_EQ(ran_a, 0) << "a's completions ran on b's thread";
  std::thread ta([&] {
    thread_a = std::this_thread::get_id();
    a.run();
  });
  ta.join();
  EXPECT_EQ(ran_a, 10);
  EXPECT_EQ(wrong, 0);
}

TEST(completion_relay, a_stopped_io_context_releases_what_waits_in_the_relay) {
  auto token = std::make_shared<int>(0);
  std::shared_ptr<completion_relay> relay;  // outlives the io_context, as the server state may
  {
    net::io_context ioc;
    relay = std::make_shared<completion_relay>(ioc.get_executor());
    relay->deliver(net::make_strand(ioc), [token] { ++*token; });
    EXPECT_EQ(token.use_count(), 2);
    // Never run: the io_context is destroyed with the run still queued.
  }
  EXPECT_EQ(*token, 0);
  // In the server the completion owns a coroutine frame that owns the server state that owns
  // the relay: left in the relay, they would keep each other alive for ever.
  EXPECT_EQ(token.use_count(), 1) << "the queued completion was destroyed with the io_context";
}

}  // namespace

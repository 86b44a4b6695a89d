// Issue 14: PostgreSQL fails over under load (kill -9 of the primary's postmaster, promotion of
// its streaming standby) and the server, with a multi-host database.url, goes on against the new
// primary without a restart. Every event answered 200 is on the new primary exactly once.
#include <gtest/gtest.h>

#include "durability_support.hpp"
#include "pg_pair.hpp"
#include "pg_test_env.hpp"

using namespace caliper_sessiond::testing;
using std::chrono::seconds;

namespace {

constexpr const char* stored_metric = R"(caliper_writer_events_total{outcome="stored"})";

class failover : public ::testing::Test {
protected:
  void SetUp() override {
    if (!pg_test_env::from_environment()) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
    pair_ = std::make_unique<pg_pair>();
  }
  /// Waits until the server has stored `n` more events than it had.
  static bool stored_grows(const server_process& server, double n) {
    const double from = metric(server, stored_metric);
    return wait_until([&] { return metric(server, stored_metric) >= from + n; }, seconds(30));
  }
  std::unique_ptr<pg_pair> pair_;
};

}  // namespace

TEST_F(failover, journal_mode_answers_only_200_and_replays_commits_the_standby_missed) {
  server_process server(server_opts(pair_->url(), "retain_seconds = 600"));
  ASSERT_TRUE(server.start()) << server.log();
  // About 4 s of load, from before the failover to after it.
  load_run load(server, load_opts(4, 800, 60, 200));
  ASSERT_TRUE(stored_grows(server, 1000)) << server.log();
  // Asynchronous replication loses the old primary's last commits: make it lose many for sure.
  pair_->disconnect_standby();
  ASSERT_TRUE(stored_grows(server, 1000)) << server.log();
  pair_->fail_over();
  ASSERT_TRUE(load.wait()) << "the load did not finish";
  const auto ids = load.acked_ids();
  EXPECT_EQ(load.count("requests_ok"), 800) << load.summary();
  EXPECT_EQ(load.count("requests_failed"), 0) << load.summary();
  EXPECT_EQ(load.count("connection_errors"), 0) << load.summary();
  EXPECT_EQ(ids.size(), 8'000u);
  EXPECT_EQ(wait_all_stored(pair_->standby_url(), ids, seconds(60)), "");
  EXPECT_GE(metric(server, "caliper_db_server_changes_total"), 1) << server.log();
  EXPECT_EQ(metric(server, "caliper_journal_failover_replays_total"), 1) << server.log();
  // At least the 100 requests (1000 events) committed after the standby stopped receiving.
  EXPECT_GE(metric(server, "caliper_journal_records_replayed_total"), 100) << server.log();
}

TEST_F(failover, database_mode_with_a_synchronous_standby_loses_no_200) {
  pair_->make_synchronous();
  auto opts = server_opts(pair_->url());
  opts.durability = "database";
  server_process server(opts);
  ASSERT_TRUE(server.start()) << server.log();
  // About 6 s of load: the switch (kill, promotion, the writers' reconnect backoff) takes 1-4 s.
  load_run load(server, load_opts(4, 1200, 60, 200));
  ASSERT_TRUE(stored_grows(server, 2000)) << server.log();
  pair_->fail_over();
  // 503s are allowed while no primary accepts writes; then requests succeed again.
  ASSERT_TRUE(stored_grows(server, 500)) << server.log();
  ASSERT_TRUE(load.wait()) << "the load did not finish";
  const auto ids = load.acked_ids();
  EXPECT_GE(ids.size(), 2'500u) << load.summary();
  EXPECT_GE(metric(server, "caliper_db_server_changes_total"), 1) << server.log();
  EXPECT_EQ(wait_all_stored(pair_->standby_url(), ids, seconds(60)), "");
}

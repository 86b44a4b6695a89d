// PostgreSQL stopped for 20 s under load. Journal mode: no request fails and everything
// arrives. Database mode: 503s during the outage, and no 200 is lost. The cluster stopped is
// the test's own (private_pg_cluster), so the test runs beside others, not alone.
#include <gtest/gtest.h>

#include <signal.h>

#include "durability_support.hpp"
#include "pg_test_env.hpp"

using namespace caliper_sessiond::testing;
using std::chrono::seconds;

namespace {

/// Starts the shared cluster again however the test ends.
struct restart_guard {
  const pg_test_env& env;
  ~restart_guard() {
    try {
      env.start_server();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot restart PostgreSQL: " << e.what();
    }
  }
};

constexpr auto outage = seconds(20);

}  // namespace

// Both modes run side by side through one outage, to keep the suite short.
TEST(durability_outage, postgres_down_20s_journal_mode_accepts_all_database_mode_answers_503) {
  if (!pg_test_env::from_environment())
    GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the tests with scripts/test";
  private_pg_cluster cluster;
  const pg_test_env& env = cluster.env();
  const auto journal_url = env.create_database("outage_journal");
  const auto database_url = env.create_database("outage_database");
  server_process journal(server_opts(journal_url));
  auto database_mode = server_opts(database_url);
  database_mode.durability = "database";
  server_process database(database_mode);
  ASSERT_TRUE(journal.start()) << journal.log();
  ASSERT_TRUE(database.start()) << database.log();
  // Paced, so that the journal grows by a bounded amount during the outage.
  load_run jl(journal, load_opts(4, 0, 35, 150), "journal-load");
  load_run dl(database, load_opts(4, 0, 35, 150), "database-load");
  ASSERT_TRUE(wait_until([&] { return metric(journal, R"(caliper_journal_records_total{state="committed"})") >= 300; },
                         seconds(30)));
  {
    restart_guard guard{env};
    env.stop_server();
    const auto back_at = std::chrono::steady_clock::now() + outage;
    // The outage itself lasts 20 s; meanwhile the database-mode server must notice it.
    EXPECT_TRUE(wait_until([&] { return metric(database, "caliper_db_connected") == 0; }, seconds(15)));
    EXPECT_TRUE(wait_until([&] { return std::chrono::steady_clock::now() >= back_at; }, outage + seconds(1)));
    EXPECT_GT(metric(journal, "caliper_journal_backlog_age_seconds"), 5);
    EXPECT_EQ(journal.request("GET", "/readyz").status, 200);
  }
  ASSERT_TRUE(jl.wait()) << "the journal-mode load did not finish";
  ASSERT_TRUE(dl.wait()) << "the database-mode load did not finish";

  // Journal mode: nothing failed, everything arrives.
  EXPECT_EQ(jl.count("requests_failed"), 0) << jl.summary();
  EXPECT_EQ(jl.count("connection_errors"), 0) << jl.summary();
  EXPECT_EQ(jl.count("503"), 0) << jl.summary();
  EXPECT_EQ(wait_all_stored(journal_url, jl.acked_ids(), seconds(60)), "");
  EXPECT_TRUE(wait_until([&] { return metric(journal, "caliper_journal_backlog_age_seconds") == 0; }, seconds(30)));

  // Database mode: 503s while it was down, and every 200 is stored.
  EXPECT_GT(dl.count("503"), 0) << dl.summary();
  EXPECT_GT(dl.count("200"), 0) << dl.summary();
  EXPECT_EQ(check_exactly_once(database_url, dl.acked_ids()), "");
  EXPECT_EQ(journal.stop(SIGTERM), 0);
  EXPECT_EQ(database.stop(SIGTERM), 0);
}

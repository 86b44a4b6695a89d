// Monthly partitions (caliper.ensure_partitions), retention (caliper.drop_old_partitions),
// run_maintenance, the cap on partitions per run, and migrations that run again safely on an
// install that has data.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <memory>

#include "analytics_test_support.hpp"
#include "caliper_sessiond/store/maintenance.hpp"

namespace caliper_sessiond::analytics_testing {
namespace {

// The first instant of the UTC month `offset` months from now, as SQL.
std::string month_start(int offset) {
  return "((date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => " +
         std::to_string(offset) + ")) AT TIME ZONE 'UTC')";
}

// The name ensure_partitions gives the partition of that month.
std::string partition_of(const std::string& url, int offset) {
  return pg_test_env::scalar(url, "SELECT to_char(" + month_start(offset) +
                                      " AT TIME ZONE 'UTC', '\"session_events_y\"YYYY\"m\"MM')");
}

// Writes `n` events of the month `offset` months from now through caliper.session_events:
// into the default partition unless that month has a partition. Event i is a LoggedIn when
// i is even, a LoggedOut when odd, of session s<i/2>.
void put_events(const std::string& url, int offset, int n, int first_id = 1) {
  pg_test_env::query(
      url, "INSERT INTO caliper.session_events (event_id, source, action, event_time, "
           "actor_id, user_id, session_id, sensor, received_at) "
           "SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'learn-test', "
           "CASE WHEN i % 2 = 0 THEN 'LoggedIn' ELSE 'LoggedOut' END::caliper.session_action, " +
               month_start(offset) + " + make_interval(hours => 1 + i % 500), 'u' || i % 7, "
               "'u' || i % 7, 's' || (i / 2), 'sensor', now() FROM generate_series(" +
               std::to_string(first_id) + ", " + std::to_string(first_id + n - 1) + ") AS i");
}

// "caliper.<partition> <rows>, ..." for every partition that holds rows.
std::string where_rows_are(const std::string& url) {
  return pg_test_env::scalar(url, "SELECT coalesce(string_agg(p, ', ' ORDER BY p), '') FROM (SELECT "
                                  "tableoid::regclass || ' ' || count(*) AS p FROM "
                                  "caliper.event_rows GROUP BY tableoid) AS x");
}

bool partition_exists(const std::string& url, const std::string& name) {
  return pg_test_env::scalar(url, "SELECT count(*) FROM pg_inherits WHERE inhparent = "
                                  "'caliper.event_rows'::regclass AND inhrelid = "
                                  "to_regclass('caliper." + name + "')") == "1";
}

class partitions_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
  }
  std::optional<pg_test_env> env_;
};

TEST_F(partitions_pgtest, migrate_creates_this_month_and_three_ahead_and_runs_again_safely) {
  const std::string url = migrated_database(*env_, "parts");
  for (int m = 0; m <= 3; ++m) EXPECT_TRUE(partition_exists(url, partition_of(url, m))) << m;
  EXPECT_FALSE(partition_exists(url, partition_of(url, 4)));
  const auto again = store::migrate(url);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.applied.empty());
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.ensure_partitions(3)"), "0");
}

TEST_F(partitions_pgtest, migrating_an_install_with_events_moves_them_and_builds_their_sessions) {
  // An install that ran only 001: every event so far sits in the default partition.
  const std::string url = env_->create_database("parts_old");
  pg_test_env::query(url, "CREATE SCHEMA caliper; CREATE TABLE caliper.schema_migrations ("
                          "version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz "
                          "NOT NULL DEFAULT now())");
  pg_test_env::query(url, std::string(store::migrations().at(0).sql));
  pg_test_env::query(url, "INSERT INTO caliper.schema_migrations VALUES (1, '001_init.sql')");
  put_events(url, 0, 300);
  put_events(url, -2, 100, 1000);

  const auto m = store::migrate(url);
  ASSERT_TRUE(m.ok) << m.error;
  EXPECT_EQ(where_rows_are(url), "caliper." + partition_of(url, -2) + " 100, caliper." +
                                     partition_of(url, 0) + " 300");
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.session_events_default"), "0");
  // Backfilled: s0 (event 1), s1..s149 (2k, 2k+1), s150 (event 300), s500..s549.
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.sessions"), "201");
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.sessions WHERE end_reason = 'LoggedOut' "
                                     "AND started_at IS NOT NULL"),
            "199");
}

TEST_F(partitions_pgtest, a_month_with_more_default_rows_than_allowed_is_left_for_later) {
  const std::string url = migrated_database(*env_, "parts_big");
  put_events(url, -5, 50);
  const auto skipped = rows(url, "SELECT caliper.ensure_partitions(3, 10)");
  ASSERT_EQ(skipped.size(), 1U);
  EXPECT_EQ(skipped[0], "skipped " + partition_of(url, -5) + ": 50 rows in the default partition");
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.session_events_default"), "50");
  const auto moved = rows(url, "SELECT caliper.ensure_partitions(3, 50)");
  ASSERT_EQ(moved.size(), 1U);
  EXPECT_EQ(moved[0], "created " + partition_of(url, -5) + ", moved 50 rows from the default partition");
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.session_events_default"), "0");
}

TEST_F(partitions_pgtest, a_resend_stays_a_duplicate_after_its_row_moved_to_a_partition) {
  const std::string url = migrated_database(*env_, "parts_dup");
  const std::string time = pg_test_env::scalar(url, "SELECT (" + month_start(-7) + " + interval '3 days')::text");
  const event e{"00000000-0000-4000-8000-000000000001", "LoggedIn", time, "u1", "s1"};
  EXPECT_EQ(insert_batch(url, {e}), "1");
  EXPECT_EQ(where_rows_are(url), "caliper.session_events_default 1");
  pg_test_env::query(url, "SELECT caliper.ensure_partitions(3)");
  EXPECT_EQ(where_rows_are(url), "caliper." + partition_of(url, -7) + " 1");
  EXPECT_EQ(insert_batch(url, {e}), "0");
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.session_events"), "1");
}

TEST_F(partitions_pgtest, retention_is_off_at_zero_and_drops_only_older_months) {
  const std::string url = migrated_database(*env_, "parts_ret");
  put_events(url, -1, 10, 1);
  put_events(url, -2, 10, 100);
  put_events(url, -14, 10, 200);
  pg_test_env::query(url, "SELECT caliper.ensure_partitions(3)");
  put_events(url, -30, 10, 300);  // in the default partition: no partition for them
  put_events(url, 6, 10, 400);    // in the default too, but recent
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.drop_old_partitions(0)"), "0");
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.session_events"), "50");

  // Keep 2 months: this one and the one before.
  const auto dropped = rows(url, "SELECT caliper.drop_old_partitions(2)");
  ASSERT_EQ(dropped.size(), 4U);
  EXPECT_EQ(dropped[0], "dropped " + partition_of(url, -14));
  EXPECT_EQ(dropped[1], "dropped " + partition_of(url, -2));
  EXPECT_EQ(dropped[2].rfind("deleted 10 rows before ", 0), 0U) << dropped[2];
  EXPECT_EQ(dropped[3].rfind("deleted 15 sessions whose last event is before ", 0), 0U) << dropped[3];
  EXPECT_TRUE(partition_exists(url, partition_of(url, -1)));
  EXPECT_TRUE(partition_exists(url, partition_of(url, 0)));
  EXPECT_EQ(where_rows_are(url), "caliper.session_events_default 10, caliper." + partition_of(url, -1) + " 10");
  // Left: s0..s5 (events 1..10) and s200..s204 (events 400..409).
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.sessions"), "11");
}

TEST_F(partitions_pgtest, run_maintenance_creates_ahead_and_applies_retention) {
  const std::string url = migrated_database(*env_, "parts_maint");
  put_events(url, -3, 4);
  pg_test_env::query(url, "SELECT caliper.ensure_partitions(0)");
  const auto r = store::run_maintenance(url, {.months_ahead = 5});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.actions, (std::vector<std::string>{"created " + partition_of(url, 4),
                                                 "created " + partition_of(url, 5)}));
  // A text no event uses and no writer asked for in 30 days, and one asked for today: when
  // retention dropped a month, the first is pruned.
  pg_test_env::query(url, "INSERT INTO caliper.texts (digest, value, resolved_at) VALUES "
                          "(caliper.text_digest('idle agent'), 'idle agent', now() - interval '30 days'), "
                          "(caliper.text_digest('new agent'), 'new agent', now())");
  const auto ret = store::run_maintenance(url, {.months_ahead = 5, .retention_months = 3});
  ASSERT_TRUE(ret.ok) << ret.error;
  ASSERT_EQ(ret.actions.size(), 3U);
  EXPECT_EQ(ret.actions[0], "dropped " + partition_of(url, -3));
  EXPECT_EQ(ret.actions[2], "pruned 1 texts that no event uses");
  // (The users are keys of the sessions left, sql/013.)
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT string_agg(value, ',') FROM caliper.texts WHERE value LIKE '%agent'"),
            "new agent");
  // Nothing dropped, no pruning (it reads every row).
  const auto again = store::run_maintenance(url, {.months_ahead = 5, .retention_months = 3});
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.actions.empty()) << again.actions.front();
  // A prune still owed (one that failed after a drop) is done by the next run, retention or not.
  pg_test_env::query(url, "INSERT INTO caliper.texts_prune_due DEFAULT VALUES");
  const auto owed = store::run_maintenance(url, {.months_ahead = 5});
  ASSERT_TRUE(owed.ok) << owed.error;
  EXPECT_EQ(owed.actions, std::vector<std::string>{"pruned 0 texts that no event uses"});
  EXPECT_EQ(pg_test_env::scalar(url, "SELECT count(*) FROM caliper.texts_prune_due"), "0");
}

TEST_F(partitions_pgtest, run_maintenance_reports_an_unreachable_database_without_the_password) {
  const auto r = store::run_maintenance("postgresql://someone:s3cret@/nodb?host=/nonexistent&connect_timeout=1", {});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("s3cret"), std::string::npos) << r.error;
}

TEST_F(partitions_pgtest, a_busy_default_partition_is_skipped_not_waited_for) {
  const std::string url = migrated_database(*env_, "parts_busy");
  put_events(url, -4, 3);
  // A writer's transaction that is inserting into the default partition right now.
  std::unique_ptr<PGconn, decltype(&PQfinish)> writer(PQconnectdb(url.c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(writer.get()), CONNECTION_OK);
  PQclear(PQexec(writer.get(), "BEGIN; LOCK TABLE caliper.session_events_default IN ROW EXCLUSIVE MODE"));
  const auto got = rows(url, "SET lock_timeout = '200ms'; SELECT caliper.ensure_partitions(3)");
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].rfind("skipped " + partition_of(url, -4) + ": ", 0), 0U) << got[0];
  PQclear(PQexec(writer.get(), "COMMIT"));
  const auto later = rows(url, "SELECT caliper.ensure_partitions(3)");
  ASSERT_EQ(later.size(), 1U);
  EXPECT_EQ(later[0], "created " + partition_of(url, -4) + ", moved 3 rows from the default partition");
}

// Issue 11: at most max_new_partitions per call, however many months wait in the default.

/// Two rows in each of the months -first .. -last (no partitions there: the default holds them).
void put_months(const std::string& url, int first, int last) {
  for (int m = first; m <= last; ++m) put_events(url, -m, 2, 1000 * m);
}

std::string default_months(const std::string& url) {
  return pg_test_env::scalar(url, "SELECT count(DISTINCT date_trunc('month', event_time AT TIME ZONE 'UTC')) "
                                  "FROM caliper.session_events_default");
}

TEST_F(partitions_pgtest, a_run_creates_at_most_the_cap_and_says_how_many_months_wait) {
  const std::string url = migrated_database(*env_, "parts_cap");
  put_months(url, 1, 30);
  const auto r = store::run_maintenance(url, {.months_ahead = 3, .max_new_partitions = 10});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.created, 10);
  EXPECT_EQ(r.deferred_months, 20);
  ASSERT_EQ(r.actions.size(), 11U);
  EXPECT_EQ(r.actions.back(), "capped at 10 new partitions: 20 more months wait for the next run");
  // The most recent months first.
  EXPECT_EQ(r.actions[0], "created " + partition_of(url, -1) + ", moved 2 rows from the default partition");
  EXPECT_EQ(r.actions[9], "created " + partition_of(url, -10) + ", moved 2 rows from the default partition");
  EXPECT_EQ(default_months(url), "20");
}

TEST_F(partitions_pgtest, the_next_runs_continue_until_no_month_waits) {
  const std::string url = migrated_database(*env_, "parts_cap_next");
  put_months(url, 1, 30);
  const store::maintenance_options options{.months_ahead = 3, .max_new_partitions = 12};
  const auto first = store::run_maintenance(url, options);
  const auto second = store::run_maintenance(url, options);
  const auto third = store::run_maintenance(url, options);
  ASSERT_TRUE(first.ok && second.ok && third.ok) << first.error << second.error << third.error;
  EXPECT_EQ(std::vector<int>({first.created, second.created, third.created}), std::vector<int>({12, 12, 6}));
  EXPECT_EQ(std::vector<int>({first.deferred_months, second.deferred_months, third.deferred_months}),
            std::vector<int>({18, 6, 0}));
  EXPECT_EQ(third.actions.size(), 6U);  // no "capped" line
  EXPECT_EQ(default_months(url), "0");
  EXPECT_TRUE(partition_exists(url, partition_of(url, -30)));
}

TEST_F(partitions_pgtest, the_months_ahead_come_before_the_months_waiting_in_the_default) {
  const std::string url = migrated_database(*env_, "parts_cap_ahead");  // this month and 3 ahead
  put_months(url, 1, 5);
  const auto r = store::run_maintenance(url, {.months_ahead = 6, .max_new_partitions = 4});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.actions, (std::vector<std::string>{
                           "created " + partition_of(url, 4), "created " + partition_of(url, 5),
                           "created " + partition_of(url, 6),
                           "created " + partition_of(url, -1) + ", moved 2 rows from the default partition",
                           "capped at 4 new partitions: 4 more months wait for the next run"}));
}

TEST_F(partitions_pgtest, the_old_call_forms_still_work_and_get_the_default_cap_of_24) {
  const std::string url = migrated_database(*env_, "parts_cap_old");
  put_months(url, 1, 30);
  const auto r = rows(url, "SELECT caliper.ensure_partitions(3)");
  ASSERT_EQ(r.size(), 25U);
  EXPECT_EQ(r.back(), "capped at 24 new partitions: 6 more months wait for the next run");
  EXPECT_EQ(rows(url, "SELECT caliper.ensure_partitions(3, 200000)").back(),
            "created " + partition_of(url, -30) + ", moved 2 rows from the default partition");
  EXPECT_EQ(default_months(url), "0");
}

}  // namespace
}  // namespace caliper_sessiond::analytics_testing

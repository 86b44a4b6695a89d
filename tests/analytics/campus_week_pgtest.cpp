// The campus week of tests/analytics/campus_week.sql: caliper.sessions and every view checked
// against the answers the generator wrote down before delivering the events.
#include <gtest/gtest.h>

#include <regex>

#include "analytics_test_support.hpp"

namespace caliper_sessiond::analytics_testing {
namespace {

using caliper_sessiond::testing::read_file;
using caliper_sessiond::testing::source_dir;

// Generating the week takes ~20 s, and ctest runs every test in its own process: the first
// process builds the database under a temporary name and renames it when it is complete; the
// others (and later runs on the same cluster) reuse it. The name changes with the SQL. A
// cluster-wide lock makes a second process started meanwhile (ctest -j) wait for the first.
std::string campus_database(const pg_test_env& env) {
  std::string inputs = read_file(source_dir() + "/tests/analytics/campus_week.sql");
  for (const auto& m : store::migrations()) inputs += m.sql;
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : inputs) h = (h ^ c) * 1099511628211ULL;
  const std::string name = "campus_week_" + std::to_string(h % 1000000007ULL);
  const std::string scratch = env.create_database("campus_probe");
  const std::string admin = std::regex_replace(scratch, std::regex("/campus_probe_[0-9_]+\\?"), "/postgres?");
  const std::string url = std::regex_replace(scratch, std::regex("/campus_probe_[0-9_]+\\?"), "/" + name + "?");
  pg_test_env::query(admin, "DROP DATABASE " + scratch.substr(scratch.find("campus_probe"),
                                                              scratch.find('?') - scratch.find("campus_probe")));
  const auto building = env.exclusive(0x63616d707573);  // "campus"
  if (pg_test_env::scalar(admin, "SELECT count(*) FROM pg_database WHERE datname = '" + name + "'") == "1")
    return url;
  const std::string build = env.create_database("campus_build");
  const auto m = store::migrate(build);
  if (!m.ok) throw std::runtime_error(m.error);
  pg_test_env::query(build, read_file(source_dir() + "/tests/analytics/campus_week.sql"));
  pg_test_env::query(build, "ANALYZE");
  const std::string build_name = build.substr(build.find("campus_build"), build.find('?') - build.find("campus_build"));
  pg_test_env::query(admin, "ALTER DATABASE " + build_name + " RENAME TO " + name);  // under the lock: no race
  return url;
}

class campus_week_pgtest : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (auto env = pg_test_env::from_environment()) url_ = new std::string(campus_database(*env));
  }
  static void TearDownTestSuite() {
    delete url_;
    url_ = nullptr;
  }
  void SetUp() override {
    if (url_ == nullptr) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
  }
  static std::string utc(const std::string& sql) { return "SET TimeZone = 'UTC'; " + sql; }
  /// Rows of `a` not in `b` plus rows of `b` not in `a` (both in UTC).
  static std::string difference(const std::string& a, const std::string& b) {
    return pg_test_env::scalar(*url_, utc("SELECT count(*) FROM ((" + a + " EXCEPT ALL " + b + ") UNION ALL (" +
                                          b + " EXCEPT ALL " + a + ")) AS d"));
  }
  static std::string scalar(const std::string& sql) { return pg_test_env::scalar(*url_, utc(sql)); }
  static std::string* url_;
};

std::string* campus_week_pgtest::url_ = nullptr;

// ctest runs this one (as campus_week_database) before the others: tests/analytics/CMakeLists.txt.
TEST_F(campus_week_pgtest, database_holds_the_delivered_week) {
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.session_events"),
            scalar("SELECT count(DISTINCT event_id) FROM campus.delivery"));
}

TEST_F(campus_week_pgtest, the_delivery_has_every_complication) {
  // 20,000 users; a handful draw no session all week.
  EXPECT_GT(std::stoi(scalar("SELECT count(DISTINCT user_id) FROM campus.truth")), 19900);
  EXPECT_GT(std::stoi(scalar("SELECT count(*) FROM campus.truth WHERE login_lost")), 1000);
  EXPECT_GT(std::stoi(scalar("SELECT count(*) FROM campus.truth WHERE logout_twice")), 1000);
  EXPECT_GT(std::stoi(scalar("SELECT count(*) FROM campus.truth WHERE end_reason = 'TimedOut'")), 10000);
  EXPECT_GT(std::stoi(scalar("SELECT count(*) - count(DISTINCT event_id) FROM campus.delivery")), 10000);
  // Out of order: sessions whose end was delivered in an earlier batch than their login.
  EXPECT_GT(std::stoi(scalar("SELECT count(*) FROM campus.delivery AS i JOIN campus.delivery AS o "
                             "USING (session_id) WHERE i.action = 'LoggedIn' AND o.action <> 'LoggedIn' "
                             "AND o.batch < i.batch")),
            10000);
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.session_events"), scalar("SELECT count(*) FROM campus.planned"));
}

TEST_F(campus_week_pgtest, sessions_match_the_truth) {
  EXPECT_EQ(difference("SELECT source, session_id, user_id, user_external_id, started_at, ended_at, "
                       "end_reason, duration FROM caliper.sessions",
                       "SELECT source, session_id, user_id, user_external_id, started_at, ended_at, "
                       "end_reason, ended_at - started_at FROM campus.truth"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.sessions"), scalar("SELECT count(*) FROM campus.truth"));
}

TEST_F(campus_week_pgtest, daily_active_users_match_the_planned_events) {
  EXPECT_EQ(difference("SELECT day, active_users, users_logged_in, logins FROM caliper.daily_active_users",
                       "SELECT event_time::date, count(DISTINCT user_id), "
                       "count(DISTINCT user_id) FILTER (WHERE action = 'LoggedIn'), "
                       "count(*) FILTER (WHERE action = 'LoggedIn') FROM campus.planned GROUP BY 1"),
            "0");
  EXPECT_EQ(scalar("SELECT count(*) FROM caliper.daily_active_users"), "7");
}

TEST_F(campus_week_pgtest, logins_by_hour_match_the_planned_events) {
  EXPECT_EQ(difference("SELECT hour, logins, users FROM caliper.logins_by_hour",
                       "SELECT date_trunc('hour', event_time), count(*), count(DISTINCT user_id) "
                       "FROM campus.planned WHERE action = 'LoggedIn' GROUP BY 1"),
            "0");
}

TEST_F(campus_week_pgtest, logins_peak_in_the_hour_before_each_class_change) {
  // Weekdays: classes change at 08, 10, 12, 14, 16 and 20 o'clock; students log in just before.
  EXPECT_EQ(scalar("SELECT string_agg(DISTINCT extract(hour FROM hour)::text, ',') FROM caliper.logins_by_hour "
                   "WHERE extract(isodow FROM hour) <= 5"),
            "11,13,15,19,7,9");
  EXPECT_EQ(scalar("SELECT extract(hour FROM hour) FROM caliper.logins_by_hour "
                   "WHERE hour::date = '2026-09-07' ORDER BY logins DESC LIMIT 1"),
            "9");  // 09:00-10:00 also holds the logins without a session
}

TEST_F(campus_week_pgtest, concurrent_sessions_match_an_independent_count) {
  // Online at instant x: sessions started at or before x minus those ended at or before x,
  // each found by a binary search (an index) in the sorted starts and ends of the truth. The
  // peak of an hour is reached at its start or at one of the logins in it. Sessions that
  // never end count for 24 hours (the week is long past).
  const auto got = pg_test_env::query(*url_, utc(R"sql(
    CREATE TEMP TABLE spans AS
      SELECT started_at AS t0, coalesce(ended_at, started_at + interval '24 hours') AS t1
      FROM campus.truth WHERE started_at IS NOT NULL;
    CREATE TEMP TABLE starts AS SELECT t0 AS t, row_number() OVER (ORDER BY t0) AS n FROM spans;
    CREATE TEMP TABLE ends AS SELECT t1 AS t, row_number() OVER (ORDER BY t1) AS n FROM spans;
    CREATE INDEX ON starts (t, n);
    CREATE INDEX ON ends (t, n);
    ANALYZE starts;
    ANALYZE ends;
    CREATE TEMP TABLE instants AS
      SELECT t FROM starts
      UNION
      SELECT generate_series(date_trunc('hour', (SELECT min(t) FROM starts)),
                             date_trunc('hour', (SELECT max(t) FROM ends)), interval '1 hour');
    CREATE TEMP TABLE expected AS
      SELECT date_trunc('hour', i.t) AS hour,
             max(coalesce((SELECT n FROM starts AS s WHERE s.t <= i.t ORDER BY s.t DESC, s.n DESC LIMIT 1), 0)
               - coalesce((SELECT n FROM ends AS e WHERE e.t <= i.t ORDER BY e.t DESC, e.n DESC LIMIT 1), 0))
               AS peak
      FROM instants AS i GROUP BY 1;
    CREATE TEMP TABLE expected_start AS
      SELECT i.t AS hour,
             coalesce((SELECT n FROM starts AS s WHERE s.t <= i.t ORDER BY s.t DESC, s.n DESC LIMIT 1), 0)
               - coalesce((SELECT n FROM ends AS e WHERE e.t <= i.t ORDER BY e.t DESC, e.n DESC LIMIT 1), 0)
               AS online
      FROM instants AS i WHERE i.t = date_trunc('hour', i.t);
    CREATE TEMP TABLE actual AS SELECT hour, peak_online AS peak FROM caliper.concurrent_sessions;
    CREATE TEMP TABLE actual_start AS SELECT hour, online_at_start AS online FROM caliper.concurrent_sessions;
    SELECT (SELECT count(*) FROM expected), (SELECT max(peak) FROM expected),
           (SELECT count(*) FROM ((TABLE expected EXCEPT ALL TABLE actual)
                                  UNION ALL (TABLE actual EXCEPT ALL TABLE expected)) AS d),
           (SELECT count(*) FROM ((TABLE expected_start EXCEPT ALL TABLE actual_start)
                                  UNION ALL (TABLE actual_start EXCEPT ALL TABLE expected_start)) AS d);
  )sql"));
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0][0], "181");  // 7 days from 07:50 on Monday to the last 24-hour open session
  EXPECT_GT(std::stoi(got[0][1]), 3000);
  EXPECT_EQ(got[0][2], "0") << "hours whose peak differs";
  EXPECT_EQ(got[0][3], "0") << "hours whose online_at_start differs";
}

TEST_F(campus_week_pgtest, session_end_reasons_match_the_truth) {
  EXPECT_EQ(difference("SELECT day, end_reason, sessions, without_login, median_duration "
                       "FROM caliper.session_end_reasons",
                       "SELECT coalesce(started_at, ended_at)::date, end_reason, count(*), "
                       "count(*) FILTER (WHERE started_at IS NULL), "
                       "percentile_cont(0.5) WITHIN GROUP (ORDER BY ended_at - started_at) "
                       "FROM campus.truth GROUP BY 1, 2"),
            "0");
  EXPECT_EQ(scalar("SELECT sum(sessions) FILTER (WHERE end_reason = 'TimedOut') FROM caliper.session_end_reasons"),
            scalar("SELECT count(*) FROM campus.truth WHERE end_reason = 'TimedOut'"));
}

TEST_F(campus_week_pgtest, the_analyst_role_reads_everything_and_writes_nothing) {
  EXPECT_EQ(pg_test_env::scalar(*url_, "SET ROLE caliper_analyst; SELECT count(*) > 0 FROM caliper.sessions"), "t");
  for (const char* view : {"daily_active_users", "logins_by_hour", "concurrent_sessions", "session_end_reasons"})
    EXPECT_EQ(pg_test_env::scalar(*url_, std::string("SET ROLE caliper_analyst; SELECT count(*) > 0 FROM caliper.") + view),
              "t")
        << view;
  EXPECT_THROW(pg_test_env::query(*url_, "SET ROLE caliper_analyst; DELETE FROM caliper.sessions"),
               std::runtime_error);
  EXPECT_EQ(pg_test_env::scalar(*url_, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'caliper_analyst'"), "f");
}

TEST_F(campus_week_pgtest, every_table_view_and_column_has_a_comment) {
  EXPECT_EQ(scalar("SELECT coalesce(string_agg(c.relname, ', '), '') FROM pg_class AS c "
                   "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                   "WHERE n.nspname = 'caliper' AND c.relkind IN ('r', 'p', 'v') "
                   "AND obj_description(c.oid, 'pg_class') IS NULL"),
            "");
  EXPECT_EQ(scalar("SELECT coalesce(string_agg(c.relname || '.' || a.attname, ', '), '') FROM pg_class AS c "
                   "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
                   "JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
                   "WHERE n.nspname = 'caliper' AND c.relkind IN ('r', 'p', 'v') "
                   "AND col_description(c.oid, a.attnum) IS NULL"),
            "");
}

TEST_F(campus_week_pgtest, the_readme_queries_run_and_answer) {
  const std::string readme = read_file(source_dir() + "/sql/README.md");
  const std::regex block("```sql\n([^`]*)```");
  int n = 0;
  for (auto it = std::sregex_iterator(readme.begin(), readme.end(), block); it != std::sregex_iterator(); ++it) {
    // Read-only, as an analyst, on a day of the campus week: each example returns rows.
    const std::string sql = std::regex_replace(
        std::regex_replace((*it)[1].str(), std::regex("current_date"), "date '2026-09-09'"),
        std::regex("now\\(\\)"), "timestamptz '2026-09-09 12:00+00'");
    ++n;
    std::vector<std::vector<std::string>> result;
    EXPECT_NO_THROW(result = pg_test_env::query(*url_, "SET ROLE caliper_analyst; " + sql)) << sql;
    EXPECT_FALSE(result.empty()) << sql;
  }
  EXPECT_EQ(n, 10);
}

}  // namespace
}  // namespace caliper_sessiond::analytics_testing

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "caliper_sessiond/store/migrations.hpp"
#include "pg_test_env.hpp"

namespace caliper_sessiond::store {
namespace {

using caliper_sessiond::testing::pg_test_env;

class migrations_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = env_->create_database("migrations");
  }
  std::optional<pg_test_env> env_;
  std::string url_;
};

/// Every version in sql/, and "1 001_init.sql,2 …" as schema_migrations lists them.
std::vector<int> all_versions() {
  std::vector<int> v;
  for (const auto& m : migrations()) v.push_back(m.version);
  return v;
}
std::string all_recorded() {
  std::string out;
  for (const auto& m : migrations()) out.append(out.empty() ? "" : ",").append(std::to_string(m.version)).append(" ").append(m.name);
  return out;
}

TEST_F(migrations_pgtest, migrate_creates_the_tables_with_the_contract_columns) {
  const auto r = migrate(url_);
  ASSERT_TRUE(r.ok) << r.error;
  ASSERT_FALSE(migrations().empty());
  EXPECT_EQ(migrations().front().name, "001_init.sql");
  EXPECT_EQ(r.applied, all_versions());
  // The contract's columns, as analysts read them: caliper.session_events is a view since 009.
  const auto columns = pg_test_env::query(url_, R"sql(
    SELECT column_name || ' ' || udt_name FROM information_schema.columns
    WHERE table_schema = 'caliper' AND table_name = 'session_events' ORDER BY ordinal_position)sql");
  const std::vector<std::string> expected{
      "event_id uuid",          "source text",          "action session_action",
      "event_time timestamptz", "actor_id text",        "user_id text",
      "user_lms_id text",       "user_external_id text", "session_id text",
      "session_name text",      "user_agent text",      "ip_address inet",
      "ed_app_id text",         "sensor text",          "received_at timestamptz"};
  ASSERT_EQ(columns.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(columns[i][0], expected[i]);
  // The rows behind it: what every event has is NOT NULL there; the long texts are keys.
  EXPECT_EQ(pg_test_env::scalar(url_, R"sql(
    SELECT string_agg(column_name, ' ' ORDER BY ordinal_position) FROM information_schema.columns
    WHERE table_schema = 'caliper' AND table_name = 'event_rows' AND is_nullable = 'NO')sql"),
            "event_id source action event_time received_at");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT pg_get_partkeydef('caliper.event_rows'::regclass)"),
            "RANGE (event_time)");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE conrelid = 'caliper.event_rows'::regclass AND contype = 'p'"),
            "PRIMARY KEY (event_id, event_time)");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
                                      "WHERE oid = 'caliper.session_events_default'::regclass"),
            "DEFAULT");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT enum_range(NULL::caliper.session_action)::text"),
            "{LoggedIn,LoggedOut,TimedOut}");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'caliper' "
                                      "AND tablename = 'rejected_events' AND indexdef LIKE '%(received_at)%'"),
            "1");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(version || ' ' || name, ',' ORDER BY version) "
                                      "FROM caliper.schema_migrations"),
            all_recorded());
}

TEST_F(migrations_pgtest, second_migrate_applies_nothing) {
  ASSERT_TRUE(migrate(url_).ok);
  const auto again = migrate(url_);
  ASSERT_TRUE(again.ok) << again.error;
  EXPECT_TRUE(again.applied.empty());
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.schema_migrations"),
            std::to_string(migrations().size()));
}

// An install of before 009 with events in it, upgraded: its rows (texts in place) read the same
// through the view, the server's new rows (texts as keys) beside them, and the partition
// maintenance and the sessions go on working.
TEST_F(migrations_pgtest, rows_stored_before_009_read_the_same_after_it) {
  pg_test_env::query(url_, "CREATE SCHEMA caliper; CREATE TABLE caliper.schema_migrations "
                           "(version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& m : migrations()) {
    if (m.version >= 9) break;
    pg_test_env::query(url_, "BEGIN; " + std::string(m.sql) + "; INSERT INTO caliper.schema_migrations (version, name) VALUES (" +
                                 std::to_string(m.version) + ", '" + std::string(m.name) + "'); COMMIT");
  }
  // A LoggedIn of this month and a TimedOut of a month with no partition (the default one).
  const std::string legacy = R"sql(
    ('00000000-0000-4000-8000-000000000001', 'learn', 'LoggedIn', date_trunc('month', now()) + interval '1 hour',
     'https://lms/users/1', 'https://lms/users/1', '_1_1', 'x1', 'https://lms/sessions/1', 'one', 'Mozilla/5.0 old',
     '192.0.2.1', 'https://lms/app', 'https://lms/sensor', now()),
    ('00000000-0000-4000-8000-000000000002', 'learn', 'TimedOut', '2020-01-05 10:00+00',
     'https://lms/app', 'https://lms/users/2', NULL, NULL, 'https://lms/sessions/2', NULL, NULL, NULL,
     'https://lms/app', 'https://lms/sensor', now()))sql";
  pg_test_env::query(url_, "INSERT INTO caliper.session_events VALUES " + legacy);
  const std::string all = "SELECT * FROM caliper.session_events ORDER BY event_id";
  const auto before = pg_test_env::query(url_, all);
  ASSERT_EQ(before.size(), 2U);

  const auto r = migrate(url_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.applied.front(), 9);
  EXPECT_EQ(pg_test_env::query(url_, all), before);
  // No event row rewritten; the two sessions are keyed (sql/013): their IRIs' prefix and users.
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(value, ' ' ORDER BY value) FROM caliper.texts"),
            "https://lms/sessions/ https://lms/users/1 https://lms/users/2");

  // The server's form: the same values as keys; the actor stored only when it is not the user.
  pg_test_env::query(url_, R"sql(SELECT * FROM caliper.write_events(
    ARRAY['00000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000004']::uuid[],
    ARRAY['learn', 'learn'], ARRAY['LoggedOut', 'TimedOut']::caliper.session_action[],
    ARRAY[date_trunc('month', now()) + interval '2 hours', '2020-01-05 11:00+00']::timestamptz[],
    ARRAY['https://lms/users/1', 'https://lms/app'], ARRAY['https://lms/users/1', 'https://lms/users/3'],
    ARRAY['_1_1', NULL], ARRAY['x1', NULL], ARRAY['https://lms/sessions/1', 'https://lms/sessions/3'],
    ARRAY['one', NULL], ARRAY['Mozilla/5.0 old', NULL], ARRAY['192.0.2.1', NULL]::inet[],
    ARRAY['https://lms/app', 'https://lms/app'], ARRAY['https://lms/sensor', 'https://lms/sensor'],
    ARRAY[now(), now()]::timestamptz[], '{}', '{}', '{}', '{}'))sql");
  EXPECT_EQ(pg_test_env::query(url_, "SELECT actor_id, user_id, user_agent, ed_app_id, sensor FROM caliper.session_events "
                                     "WHERE event_id IN ('00000000-0000-4000-8000-000000000003', "
                                     "'00000000-0000-4000-8000-000000000004') ORDER BY event_id"),
            (std::vector<std::vector<std::string>>{
                {"https://lms/users/1", "https://lms/users/1", "Mozilla/5.0 old", "https://lms/app", "https://lms/sensor"},
                {"https://lms/app", "https://lms/users/3", "\\N", "https://lms/app", "https://lms/sensor"}}));
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.event_rows WHERE actor_id IS NULL AND "
                                      "sensor IS NULL AND sensor_ref IS NOT NULL"),
            "2");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(value, ' ' ORDER BY value) FROM caliper.texts"),
            "Mozilla/5.0 old https://lms/app https://lms/sensor https://lms/sessions/ https://lms/users/1 "
            "https://lms/users/2 https://lms/users/3");
  // Session 1: the old LoggedIn and the new LoggedOut.
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT end_reason || ' ' || user_external_id || ' ' || (duration = interval '1 hour') "
                                      "FROM caliper.sessions WHERE session_id = 'https://lms/sessions/1'"),
            "LoggedOut x1 true");
  // Maintenance on the renamed table: January 2020's two rows leave the default partition,
  // old and new forms alike, and read the same there.
  const auto jan = pg_test_env::query(url_, "SELECT * FROM caliper.session_events WHERE event_time < '2021-01-01' ORDER BY event_id");
  ASSERT_EQ(jan.size(), 2U);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(x, ';') FROM caliper.ensure_partitions(0) AS x"),
            "created session_events_y2020m01, moved 2 rows from the default partition");
  EXPECT_EQ(pg_test_env::query(url_, "SELECT * FROM caliper.session_events WHERE event_time < '2021-01-01' ORDER BY event_id"), jan);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_events_y2020m01"), "2");
  // A server of before 009 during a rolling upgrade: its statement (through the view) stores
  // new rows and skips a resend, RETURNING only what it stored.
  EXPECT_EQ(pg_test_env::scalar(url_, R"sql(
    WITH ins AS (
      INSERT INTO caliper.session_events (event_id, source, action, event_time, actor_id, user_id,
        user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id,
        sensor, received_at)
      SELECT * FROM unnest(ARRAY['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000005']::uuid[],
        ARRAY['learn', 'learn'], ARRAY['LoggedIn', 'LoggedIn']::caliper.session_action[],
        ARRAY[date_trunc('month', now()) + interval '1 hour', now()], ARRAY['https://lms/users/1', 'https://lms/users/5'],
        ARRAY['https://lms/users/1', 'https://lms/users/5'], ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[],
        ARRAY['https://lms/sessions/1', 'https://lms/sessions/5'], ARRAY[NULL, NULL]::text[], ARRAY[NULL, NULL]::text[],
        ARRAY[NULL, NULL]::inet[], ARRAY[NULL, NULL]::text[], ARRAY['https://lms/sensor', 'https://lms/sensor'],
        ARRAY[now(), now()])
      ON CONFLICT DO NOTHING
      RETURNING event_id)
    SELECT string_agg(event_id::text, ' ') FROM ins)sql"),
            "00000000-0000-4000-8000-000000000005");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_events"), "5");
  // The view's columns keep the contract's comments; the table's say how it stores them.
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT col_description('caliper.session_events'::regclass, 5)"),
            "the event's actor IRI as sent (the software application for TimedOut)");
  EXPECT_NE(pg_test_env::scalar(url_, "SELECT col_description('caliper.event_rows'::regclass, 5)"),
            "the event's actor IRI as sent (the software application for TimedOut)");
  // And the analysts still read all of it.
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT has_table_privilege('caliper_analyst', 'caliper.session_events', 'SELECT') "
                                      "AND has_table_privilege('caliper_analyst', 'caliper.texts', 'SELECT')"),
            "t");
}

// An install of before 013 with sessions of every form, upgraded: caliper.sessions becomes a
// view over caliper.session_rows that reads exactly as the table did, so do the views over it,
// and the trigger goes on merging into the moved rows.
TEST_F(migrations_pgtest, sessions_stored_before_013_read_the_same_after_it) {
  pg_test_env::query(url_, "CREATE SCHEMA caliper; CREATE TABLE caliper.schema_migrations "
                           "(version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())");
  for (const auto& m : migrations()) {
    if (m.version >= 13) break;
    pg_test_env::query(url_, "BEGIN; " + std::string(m.sql) + "; INSERT INTO caliper.schema_migrations (version, name) VALUES (" +
                                 std::to_string(m.version) + ", '" + std::string(m.name) + "'); COMMIT");
  }
  // Texts in place (an insert into the view): a logged-out session, the same IRI from another
  // source, an open session whose IRI has no '/', one that ends with '/' and has no LoggedIn,
  // and a user with an external id only on the LoggedOut.
  pg_test_env::query(url_, R"sql(
    INSERT INTO caliper.session_events (event_id, source, action, event_time, actor_id, user_id, user_external_id,
                                        session_id, sensor, received_at) VALUES
    ('00000000-0000-4000-8000-000000000001', 'learn', 'LoggedIn', '2020-01-05 09:00Z', 'u1', 'https://lms/users/1', NULL, 'https://lms/sessions/1', 's', now()),
    ('00000000-0000-4000-8000-000000000002', 'learn', 'LoggedOut', '2020-01-05 10:30Z', 'u1', 'https://lms/users/1', 'x1', 'https://lms/sessions/1', 's', now()),
    ('00000000-0000-4000-8000-000000000003', 'moodle', 'LoggedIn', '2020-01-05 09:10Z', 'u2', 'https://lms/users/2', NULL, 'https://lms/sessions/1', 's', now()),
    ('00000000-0000-4000-8000-000000000004', 'learn', 'LoggedIn', '2020-01-06 08:00Z', 'u3', 'https://lms/users/3', NULL, 'urn:uuid:2c6a0f5c', 's', now()),
    ('00000000-0000-4000-8000-000000000005', 'learn', 'TimedOut', '2020-01-06 12:00Z', 'app', 'https://lms/users/4', NULL, 'https://lms/ends/', 's', now()),
    ('00000000-0000-4000-8000-000000000006', 'learn', 'LoggedIn', '2020-01-06 09:00Z', 'u5', 'https://lms/users/5', NULL, NULL, 's', now()))sql");
  // The server's form since 012: prefix and user as keys.
  pg_test_env::query(url_, R"sql(
    WITH k AS (SELECT * FROM caliper.text_keys(ARRAY['https://lms/sessions/', 'https://lms/users/6']))
    INSERT INTO caliper.event_rows (event_id, source, action, event_time, user_ref, session_prefix_ref, session_tail,
                                    sensor, received_at)
    SELECT '00000000-0000-4000-8000-000000000007', 'learn', 'LoggedIn', '2020-01-07 09:00Z',
           (SELECT id FROM k WHERE value LIKE '%users/6'), (SELECT id FROM k WHERE value LIKE '%sessions/'), '7', 's', now())sql");
  // Someone else's grant and view: the view stops the migration before the move, with what to do.
  pg_test_env::query(url_, "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'caliper_test_bi') THEN "
                           "CREATE ROLE caliper_test_bi NOLOGIN; END IF; END $$");
  pg_test_env::query(url_, "GRANT SELECT ON caliper.sessions TO caliper_test_bi; "
                           "CREATE VIEW public.my_sessions AS SELECT session_id FROM caliper.sessions");
  const auto refused = migrate(url_);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.error.find("my_sessions depend on the table"), std::string::npos) << refused.error;
  pg_test_env::query(url_, "DROP VIEW public.my_sessions");
  const std::string sessions = "SELECT * FROM caliper.sessions ORDER BY source, session_id";
  const std::string views = "SELECT 'r', * FROM caliper.session_end_reasons UNION ALL "
                            "SELECT 'c', hour::date, hour::text, online_at_start, peak_online, NULL, NULL FROM caliper.concurrent_sessions "
                            "ORDER BY 1, 2, 3";
  const auto before = pg_test_env::query(url_, sessions);
  const auto before_views = pg_test_env::query(url_, views);
  ASSERT_EQ(before.size(), 5U);
  ASSERT_GT(before_views.size(), 10U);

  const auto r = migrate(url_);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.applied.front(), 13);
  EXPECT_EQ(pg_test_env::query(url_, sessions), before);
  EXPECT_EQ(pg_test_env::query(url_, views), before_views);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT relkind::text || ' ' || (to_regclass('caliper.sessions_before_013') IS NULL) "
                                      "FROM pg_class WHERE oid = 'caliper.sessions'::regclass"),
            "v true");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(session_prefix_ref::text || ' ' || session_tail, ', ' "
                                      "ORDER BY source, session_tail) FROM caliper.session_rows WHERE session_prefix_ref = 0"),
            "0 https://lms/ends/, 0 urn:uuid:2c6a0f5c");
  // The moved rows go on: a LoggedOut through the view ends the open session, one in the
  // server's form with an earlier time ends session 7; nothing is added.
  pg_test_env::query(url_, R"sql(
    INSERT INTO caliper.session_events (event_id, source, action, event_time, actor_id, user_id, session_id, sensor, received_at)
    VALUES ('00000000-0000-4000-8000-000000000008', 'learn', 'LoggedOut', '2020-01-06 09:00Z', 'u3', 'https://lms/users/3',
            'urn:uuid:2c6a0f5c', 's', now()))sql");
  pg_test_env::query(url_, R"sql(
    INSERT INTO caliper.event_rows (event_id, source, action, event_time, user_ref, session_prefix_ref, session_tail, sensor, received_at)
    SELECT '00000000-0000-4000-8000-000000000009', 'learn', 'TimedOut', '2020-01-07 10:00Z',
           (SELECT id FROM caliper.texts WHERE value LIKE '%users/6'), (SELECT id FROM caliper.texts WHERE value LIKE '%sessions/'), '7', 's', now())sql");
  EXPECT_EQ(pg_test_env::query(url_, "SELECT session_id, user_id, end_reason, duration::text FROM caliper.sessions "
                                     "WHERE end_reason <> 'open' ORDER BY source, session_id"),
            (std::vector<std::vector<std::string>>{{"https://lms/ends/", "https://lms/users/4", "TimedOut", "\\N"},
                                                    {"https://lms/sessions/1", "https://lms/users/1", "LoggedOut", "01:30:00"},
                                                    {"https://lms/sessions/7", "https://lms/users/6", "TimedOut", "01:00:00"},
                                                    {"urn:uuid:2c6a0f5c", "https://lms/users/3", "LoggedOut", "01:00:00"}}));
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_rows"), "5");
  // Columns, comments and grants as the table had them.
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) "
                                      "FROM information_schema.columns WHERE table_schema = 'caliper' AND table_name = 'sessions'"),
            "source text, session_id text, user_id text, user_external_id text, started_at timestamp with time zone, "
            "ended_at timestamp with time zone, end_reason text, duration interval, first_event_at timestamp with time zone, "
            "last_event_at timestamp with time zone");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT col_description('caliper.sessions'::regclass, 10)"),
            "eventTime of the session's latest event (used by retention)");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT has_table_privilege('caliper_analyst', 'caliper.sessions', 'SELECT') "
                                      "AND has_table_privilege('caliper_analyst', 'caliper.session_end_reasons', 'SELECT') "
                                      "AND NOT has_table_privilege('caliper_analyst', 'caliper.sessions', 'DELETE') "
                                      "AND has_table_privilege('caliper_test_bi', 'caliper.sessions', 'SELECT')"),
            "t");
}

TEST_F(migrations_pgtest, concurrent_migrates_apply_each_version_once) {
  std::vector<migrate_result> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) threads.emplace_back([&r, this] { r = migrate(url_); });
  for (auto& t : threads) t.join();
  std::size_t applied = 0;
  for (const auto& r : results) {
    EXPECT_TRUE(r.ok) << r.error;
    applied += r.applied.size();
  }
  EXPECT_EQ(applied, migrations().size());
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.schema_migrations"),
            std::to_string(migrations().size()));
}

TEST_F(migrations_pgtest, unreachable_database_reports_an_error_without_the_password) {
  const auto r = migrate("postgresql://someone:s3cret@/nodb?host=/nonexistent&connect_timeout=1");
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("cannot connect"), std::string::npos) << r.error;
  EXPECT_EQ(r.error.find("s3cret"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace caliper_sessiond::store

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
  const auto columns = pg_test_env::query(url_, R"sql(
    SELECT column_name || ' ' || udt_name || ' ' || is_nullable FROM information_schema.columns
    WHERE table_schema = 'caliper' AND table_name = 'session_events' ORDER BY ordinal_position)sql");
  const std::vector<std::string> expected{
      "event_id uuid NO",          "source text NO",          "action session_action NO",
      "event_time timestamptz NO", "actor_id text NO",        "user_id text NO",
      "user_lms_id text YES",      "user_external_id text YES", "session_id text YES",
      "session_name text YES",     "user_agent text YES",     "ip_address inet YES",
      "ed_app_id text YES",        "sensor text NO",          "received_at timestamptz NO"};
  ASSERT_EQ(columns.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(columns[i][0], expected[i]);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT pg_get_partkeydef('caliper.session_events'::regclass)"),
            "RANGE (event_time)");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                      "WHERE conrelid = 'caliper.session_events'::regclass AND contype = 'p'"),
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

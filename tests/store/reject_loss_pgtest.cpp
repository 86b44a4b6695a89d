// A reject that PostgreSQL refuses even mended must not vanish: it is stored cut short, or,
// when even that is refused, counted in writer_stats::rejects_dropped.
// The refusals come from CHECK constraints, as an operator bounding the table would add.
#include <gtest/gtest.h>

#include "caliper_sessiond/store/batch_writer.hpp"
#include "caliper_sessiond/store/migrations.hpp"
#include "pg_test_env.hpp"
#include "store_test_support.hpp"

namespace caliper_sessiond::store {
namespace {

using namespace std::chrono_literals;
using caliper_sessiond::testing::pg_test_env;
using testing::make_batch;
using testing::make_completion;
using testing::wait_done;
using testing::wait_until;

class reject_loss_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = env_->create_database("rejectloss");
    const auto m = migrate(url_);
    ASSERT_TRUE(m.ok) << m.error;
    pg_test_env::query(url_, "ALTER TABLE caliper.rejected_events "
                             "ADD CONSTRAINT raw_bounded CHECK (octet_length(raw) <= 2000), "
                             "ADD CONSTRAINT source_allowed CHECK (source <> 'blocked')");
    writer_ = std::make_unique<batch_writer>(testing::test_options(url_));
    writer_->start();
    ASSERT_TRUE(wait_until([&] { return writer_->stats().connected.load(); }, 10s)) << "never connected";
  }

  testing::done_result commit(ingest_batch b) {
    auto [done, f] = make_completion();
    EXPECT_TRUE(writer_->submit(std::move(b), std::move(done)));
    EXPECT_TRUE(wait_done(f, 10s)) << "no completion";
    return f.get();
  }

  std::optional<pg_test_env> env_;
  std::string url_;
  std::unique_ptr<batch_writer> writer_;
};

TEST_F(reject_loss_pgtest, a_reject_over_a_table_bound_is_stored_cut_short_with_its_reason) {
  ingest_batch b = make_batch(1, 1);
  b.rejects = {{"body too large", "{\"big\":\"" + std::string(5000, 'x') + "\"}"}, {"no user", R"({"id":"y"})"}};
  const auto r = commit(std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 1U);
  EXPECT_EQ(r.report.rejects, 2U);
  EXPECT_EQ(writer_->stats().rejects_dropped.load(), 0U);
  const auto rows = pg_test_env::query(
      url_, "SELECT reason LIKE 'body too large%SQLSTATE 23514%', octet_length(raw), left(raw, 9) "
            "FROM caliper.rejected_events WHERE reason LIKE 'body too large%'");
  ASSERT_EQ(rows.size(), 1U);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"t", "1024", "{\"big\":\"x"}));
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT raw FROM caliper.rejected_events WHERE reason = 'no user'"),
            R"({"id":"y"})");
}

TEST_F(reject_loss_pgtest, a_reject_refused_even_cut_short_is_counted_and_the_events_still_stored) {
  ingest_batch b = make_batch(10, 2, "blocked");
  b.rejects = {{"no user", R"({"id":"z"})"}};
  const auto r = commit(std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 2U);
  EXPECT_EQ(r.report.rejects, 0U);
  EXPECT_EQ(writer_->stats().rejects_dropped.load(), 1U);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_events"), "2");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.rejected_events"), "0");
}

}  // namespace
}  // namespace caliper_sessiond::store

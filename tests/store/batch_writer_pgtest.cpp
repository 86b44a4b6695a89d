#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

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
using testing::make_event;
using testing::wait_done;
using testing::wait_until;

class batch_writer_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = env_->create_database("writer");
    const auto m = migrate(url_);
    ASSERT_TRUE(m.ok) << m.error;
  }

  /// A started writer that is connected (fails the test otherwise).
  std::unique_ptr<batch_writer> start(writer_options o) {
    auto w = std::make_unique<batch_writer>(std::move(o));
    w->start();
    EXPECT_TRUE(wait_until([&] { return w->stats().connected.load(); }, 10s)) << "never connected";
    return w;
  }
  std::unique_ptr<batch_writer> start() { return start(testing::test_options(url_)); }

  /// Submits and waits for the completion.
  testing::done_result commit(batch_writer& w, ingest_batch b) {
    auto [done, f] = make_completion();
    EXPECT_TRUE(w.submit(std::move(b), std::move(done)));
    EXPECT_TRUE(wait_done(f, 10s)) << "no completion";
    return f.get();
  }

  std::string count(const char* table) {
    return pg_test_env::scalar(url_, std::string("SELECT count(*) FROM ") + table);
  }

  std::optional<pg_test_env> env_;
  std::string url_;
};

TEST_F(batch_writer_pgtest, stores_every_column_exactly) {
  auto w = start();
  ingest_batch b;
  b.source = "learn-prod";
  b.received_at_us = 1'709'622'500'000'001;  // 2024-03-05 07:08:20.000001 UTC
  caliper::session_event full;
  full.event_id = "9b2c4a7e-1f3d-4e5a-8b6c-7d8e9f0a1b2c";
  full.action = caliper::session_action::timed_out;
  full.event_time_us = 1'709'622'489'012'345;  // 2024-03-05 07:08:09.012345 UTC
  full.actor_id = "https://lms.example.edu";
  full.user_id = "https://lms.example.edu/users/554433";
  full.user_lms_id = "_1_1";
  full.user_external_id = "";
  full.session_id = "https://lms.example.edu/sessions/abc";
  full.session_name = "NULL";  // the text, not a null
  full.user_agent = "Mozilla/5.0 \"quoted\" back\\slash {braces}, comma\nnew\tline \xC3\xBC \xF0\x9F\x98\x80";
  full.ip_address = "2001:db8::1";
  full.ed_app_id = "https://lms.example.edu/app";
  full.sensor = "https://lms.example.edu/sensor";
  caliper::session_event sparse = make_event(7);
  sparse.action = caliper::session_action::logged_out;
  sparse.session_id.reset();
  sparse.event_time_us = -1;  // 1969-12-31 23:59:59.999999 UTC
  b.events = {full, sparse};

  const auto r = commit(*w, std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 2U);
  EXPECT_EQ(r.report.duplicates, 0U);

  const auto rows = pg_test_env::query(url_, R"sql(
    SELECT event_id, source, action, event_time AT TIME ZONE 'UTC', actor_id, user_id,
      user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id,
      sensor, received_at AT TIME ZONE 'UTC'
    FROM caliper.session_events ORDER BY event_time DESC)sql");
  ASSERT_EQ(rows.size(), 2U);
  const std::vector<std::string> want_full{
      full.event_id, "learn-prod", "TimedOut", "2024-03-05 07:08:09.012345", full.actor_id,
      full.user_id, "_1_1", "", *full.session_id, "NULL", *full.user_agent, "2001:db8::1",
      *full.ed_app_id, full.sensor, "2024-03-05 07:08:20.000001"};
  EXPECT_EQ(rows[0], want_full);
  const std::vector<std::string> want_sparse{
      sparse.event_id, "learn-prod", "LoggedOut", "1969-12-31 23:59:59.999999", sparse.actor_id,
      sparse.user_id, "\\N", "\\N", "\\N", "\\N", "\\N", "\\N", "\\N", sparse.sensor,
      "2024-03-05 07:08:20.000001"};
  EXPECT_EQ(rows[1], want_sparse);
}

TEST_F(batch_writer_pgtest, resend_stores_nothing_new_and_reports_duplicates) {
  auto w = start();
  const auto first = commit(*w, make_batch(100, 5));
  EXPECT_EQ(first.report.inserted, 5U);
  const auto again = commit(*w, make_batch(100, 5));
  EXPECT_EQ(again.result, outcome::committed);
  EXPECT_EQ(again.report.inserted, 0U);
  EXPECT_EQ(again.report.duplicates, 5U);
  EXPECT_EQ(count("caliper.session_events"), "5");
  EXPECT_EQ(w->stats().events_duplicate.load(), 5U);
}

// The writer keeps the keys of the long texts it stored (sql/010, 012) within
// text_key_cache_bytes: known texts are not asked for again, and a full memory forgets them
// all (counted, and they are asked for again).
TEST_F(batch_writer_pgtest, keys_of_known_texts_are_not_asked_for_again_until_the_bound_forgets_them) {
  auto o = testing::test_options(url_);
  o.connections = 1;
  o.text_key_cache_bytes = std::size_t{1} << 20;
  auto w = start(o);
  commit(*w, make_batch(100, 5));
  const auto asked = w->stats().text_keys_asked.load();
  EXPECT_GE(asked, 5U) << "at least the five users";
  commit(*w, make_batch(100, 5));
  EXPECT_EQ(w->stats().text_keys_asked.load(), asked) << "all known";
  EXPECT_EQ(w->stats().text_key_cache_resets.load(), 0U);
  for (const char c : {'a', 'b'}) {
    auto big = make_batch(200 + static_cast<unsigned>(c), 1);
    big.events[0].user_agent = std::string(700'000, c);
    commit(*w, std::move(big));
  }
  EXPECT_EQ(w->stats().text_key_cache_resets.load(), 1U) << "the second agent did not fit beside the first";
  const auto before = w->stats().text_keys_asked.load();
  commit(*w, make_batch(100, 5));
  EXPECT_EQ(w->stats().text_keys_asked.load(), before + asked) << "forgotten: asked for again";
  EXPECT_EQ(count("caliper.session_events"), "7");
}

TEST_F(batch_writer_pgtest, partial_resend_counts_each_event_once) {
  auto w = start();
  commit(*w, make_batch(200, 3));
  const auto mixed = commit(*w, make_batch(201, 4));  // 201, 202 stored; 203, 204 new
  EXPECT_EQ(mixed.report.inserted, 2U);
  EXPECT_EQ(mixed.report.duplicates, 2U);
  EXPECT_EQ(count("caliper.session_events"), "5");
}

TEST_F(batch_writer_pgtest, duplicates_within_one_batch_are_stored_once) {
  auto w = start();
  ingest_batch b = make_batch(300, 2);
  b.events.push_back(make_event(300));
  b.events.push_back(make_event(300));
  const auto r = commit(*w, std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 2U);
  EXPECT_EQ(r.report.duplicates, 2U);
  EXPECT_EQ(count("caliper.session_events"), "2");
}

TEST_F(batch_writer_pgtest, the_same_event_in_two_requests_of_one_flush_is_counted_once) {
  auto o = testing::test_options(url_);
  o.batch_max_delay = 200ms;  // both requests very likely share a flush; the totals hold either way
  auto w = start(o);
  auto [d1, f1] = make_completion();
  auto [d2, f2] = make_completion();
  ASSERT_TRUE(w->submit(make_batch(400, 1), d1));
  ASSERT_TRUE(w->submit(make_batch(400, 1), d2));
  ASSERT_TRUE(wait_done(f1, 10s));
  ASSERT_TRUE(wait_done(f2, 10s));
  const auto r1 = f1.get();
  const auto r2 = f2.get();
  EXPECT_EQ(r1.report.inserted + r2.report.inserted, 1U);
  EXPECT_EQ(r1.report.duplicates + r2.report.duplicates, 1U);
  EXPECT_EQ(count("caliper.session_events"), "1");
}

TEST_F(batch_writer_pgtest, rejects_are_stored_with_reason_raw_and_source) {
  auto w = start();
  ingest_batch b = make_batch(500, 1, "canvas");
  b.rejects = {{"eventTime is not a date-time", R"({"id":"x","eventTime":"yesterday"})"},
               {"no user", R"({"id":"y"})"}};
  const auto r = commit(*w, std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 1U);
  EXPECT_EQ(r.report.rejects, 2U);
  const auto rows = pg_test_env::query(url_, R"sql(
    SELECT source, reason, raw, received_at AT TIME ZONE 'UTC' FROM caliper.rejected_events ORDER BY id)sql");
  ASSERT_EQ(rows.size(), 2U);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"canvas", "eventTime is not a date-time",
                                               R"({"id":"x","eventTime":"yesterday"})",
                                               "2024-03-05 07:08:20.123456"}));
  EXPECT_EQ(rows[1][1], "no user");
}

TEST_F(batch_writer_pgtest, a_refused_row_does_not_lose_the_good_rows) {
  auto w = start();
  ingest_batch b = make_batch(600, 5);
  b.events[1].user_agent = "bad \xFF\xFE bytes";  // not UTF-8: 22021
  b.events[3].ip_address = "not-an-address";     // inet refuses it: 22P02
  const auto r = commit(*w, std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 3U);
  EXPECT_EQ(r.report.rejects, 2U);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(right(event_id::text, 3), ',' ORDER BY event_id) "
                                      "FROM caliper.session_events"),
            "258,25a,25c");  // 600, 602, 604 in hex
  const auto rejects = pg_test_env::query(
      url_, "SELECT reason, raw LIKE '%000000000259%' OR raw LIKE '%00000000025b%' "
            "FROM caliper.rejected_events ORDER BY id");
  ASSERT_EQ(rejects.size(), 2U);
  for (const auto& row : rejects) {
    EXPECT_NE(row[0].find("SQLSTATE 22"), std::string::npos) << row[0];
    EXPECT_EQ(row[1], "t");
  }
}

TEST_F(batch_writer_pgtest, a_reject_the_database_refuses_is_stored_mended) {
  auto w = start();
  ingest_batch b = make_batch(700, 1);
  b.rejects = {{"body too large", std::string("{\"truncated\":\"") + '\xC3'}};  // cut inside ü
  const auto r = commit(*w, std::move(b));
  EXPECT_EQ(r.result, outcome::committed);
  EXPECT_EQ(r.report.inserted, 1U);
  EXPECT_EQ(r.report.rejects, 1U);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT raw FROM caliper.rejected_events"),
            "{\"truncated\":\"\xEF\xBF\xBD");
}

TEST_F(batch_writer_pgtest, concurrent_submits_all_complete_and_all_rows_land) {
  auto o = testing::test_options(url_);
  o.connections = 2;
  auto w = start(o);
  constexpr unsigned threads = 4, per_thread = 50, events = 10;
  std::atomic<unsigned> committed{0}, inserted{0};
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (unsigned i = 0; i < per_thread; ++i) {
        auto [done, f] = make_completion();
        const unsigned first = 10'000 + (t * per_thread + i) * events;
        if (!w->submit(make_batch(first, events), done)) {
          ADD_FAILURE() << "submit refused";
          continue;
        }
        if (!wait_done(f, 20s)) {
          ADD_FAILURE() << "no completion";
          continue;
        }
        const auto r = f.get();
        if (r.result == outcome::committed) ++committed;
        inserted += static_cast<unsigned>(r.report.inserted);
      }
    });
  }
  for (auto& t : pool) t.join();
  EXPECT_EQ(committed.load(), threads * per_thread);
  EXPECT_EQ(inserted.load(), threads * per_thread * events);
  EXPECT_EQ(count("caliper.session_events"), std::to_string(threads * per_thread * events));
  EXPECT_EQ(w->stats().events_inserted.load(), threads * per_thread * events);
  EXPECT_EQ(w->stats().queued_events.load(), 0U);
}

TEST_F(batch_writer_pgtest, submit_refuses_when_the_queue_is_full) {
  auto o = testing::test_options(url_);
  o.queue_max_events = 10;
  o.batch_max_events = 1000;
  o.batch_max_delay = std::chrono::hours(1);  // nothing flushes until stop()
  o.commit_timeout = std::chrono::hours(1);
  auto w = start(o);
  auto [d1, f1] = make_completion();
  auto [d2, f2] = make_completion();
  EXPECT_TRUE(w->submit(make_batch(800, 4), d1));
  EXPECT_TRUE(w->submit(make_batch(810, 4), d2));
  EXPECT_TRUE(w->ready());
  bool called = false;
  EXPECT_FALSE(w->submit(make_batch(820, 4), [&](outcome, const commit_report&) { called = true; }));
  EXPECT_EQ(w->stats().queued_events.load(), 8U);
  w->stop(10s);  // drains what was queued
  ASSERT_TRUE(wait_done(f1, 1s));
  ASSERT_TRUE(wait_done(f2, 1s));
  EXPECT_EQ(f1.get().result, outcome::committed);
  EXPECT_EQ(f2.get().result, outcome::committed);
  EXPECT_FALSE(called);
  EXPECT_EQ(count("caliper.session_events"), "8");
}

TEST_F(batch_writer_pgtest, submit_refuses_after_stop) {
  auto w = start();
  w->stop(1s);
  EXPECT_FALSE(w->ready());
  EXPECT_FALSE(w->submit(make_batch(900, 1), [](outcome, const commit_report&) {}));
}

TEST_F(batch_writer_pgtest, submit_refuses_while_no_connection_is_up) {
  std::string missing = url_;
  missing.insert(missing.find('?'), "_missing");  // a database that does not exist
  auto o = testing::test_options(missing);
  batch_writer w(o);
  w.start();
  EXPECT_FALSE(w.stats().connected.load());
  EXPECT_FALSE(w.ready());
  EXPECT_FALSE(w.submit(make_batch(950, 1), [](outcome, const commit_report&) {}));
}

}  // namespace
}  // namespace caliper_sessiond::store

namespace caliper_sessiond::store {
namespace {

// Issue 14: each connection reports the server's identity (system identifier / timeline) before
// writing, so that the journal can notice a failover.
TEST_F(batch_writer_pgtest, each_connection_reports_the_server_identity) {
  auto o = testing::test_options(url_);
  o.connections = 2;
  std::mutex m;
  std::vector<std::string> seen;
  o.on_server = [&](const std::string& identity) {
    std::lock_guard lk(m);
    seen.push_back(identity);
  };
  auto w = start(std::move(o));
  ASSERT_TRUE(wait_until([&] { std::lock_guard lk(m); return seen.size() == 2; }, 10s));
  const auto sysid = pg_test_env::scalar(url_, "SELECT system_identifier FROM pg_control_system()");
  std::lock_guard lk(m);
  EXPECT_EQ(seen[0], sysid + "/1");
  EXPECT_EQ(seen[1], sysid + "/1");
  EXPECT_EQ(w->stats().server_changes.load(), 0u);
}

}  // namespace
}  // namespace caliper_sessiond::store

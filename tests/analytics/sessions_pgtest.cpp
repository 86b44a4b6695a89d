// caliper.sessions, kept by the trigger of sql/003 (013, 014): one row per session whatever the order,
// batching and repetition of its events.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "analytics_test_support.hpp"
#include "caliper_sessiond/store/batch_writer.hpp"
#include "store_test_support.hpp"

namespace caliper_sessiond::analytics_testing {
namespace {

constexpr const char* session_row_sql =
    "SET TimeZone = 'UTC'; SELECT source, session_id, user_id, coalesce(user_external_id, '-'), "
    "coalesce(started_at::text, '-'), coalesce(ended_at::text, '-'), end_reason, "
    "coalesce(duration::text, '-') FROM caliper.sessions ORDER BY source, session_id";

std::string uuid(unsigned n) {
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012x", n);
  return id;
}

class sessions_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = migrated_database(*env_, "sessions");
  }
  std::vector<std::string> sessions() const { return rows(url_, session_row_sql); }

  std::optional<pg_test_env> env_;
  std::string url_;
};

TEST_F(sessions_pgtest, logout_before_login_makes_one_session) {
  EXPECT_EQ(insert_batch(url_, {{uuid(2), "LoggedOut", "2026-09-07 10:30:00+00", "u1", "s1"}}), "1");
  EXPECT_EQ(insert_batch(url_, {{uuid(1), "LoggedIn", "2026-09-07 10:00:00+00", "u1", "s1", "S1"}}), "1");
  EXPECT_EQ(sessions(), std::vector<std::string>{"learn-test|s1|u1|S1|2026-09-07 10:00:00+00|"
                                                 "2026-09-07 10:30:00+00|LoggedOut|00:30:00"});
}

TEST_F(sessions_pgtest, a_missing_login_leaves_the_start_and_duration_unknown) {
  insert_batch(url_, {{uuid(1), "TimedOut", "2026-09-07 11:00:00+00", "u1", "s1"}});
  EXPECT_EQ(sessions(), std::vector<std::string>{"learn-test|s1|u1|-|-|2026-09-07 11:00:00+00|TimedOut|-"});
}

TEST_F(sessions_pgtest, a_session_without_an_end_is_open) {
  insert_batch(url_, {{uuid(1), "LoggedIn", "2026-09-07 10:00:00+00", "u1", "s1"}});
  EXPECT_EQ(sessions(), std::vector<std::string>{"learn-test|s1|u1|-|2026-09-07 10:00:00+00|-|open|-"});
}

TEST_F(sessions_pgtest, a_second_logout_does_not_move_the_end) {
  insert_batch(url_, {{uuid(1), "LoggedIn", "2026-09-07 10:00:00+00", "u1", "s1"}});
  insert_batch(url_, {{uuid(3), "LoggedOut", "2026-09-07 10:40:00+00", "u1", "s1"}});
  insert_batch(url_, {{uuid(2), "LoggedOut", "2026-09-07 10:20:00+00", "u1", "s1"}});
  insert_batch(url_, {{uuid(4), "LoggedOut", "2026-09-07 10:50:00+00", "u1", "s1"}});
  EXPECT_EQ(sessions(), std::vector<std::string>{"learn-test|s1|u1|-|2026-09-07 10:00:00+00|"
                                                 "2026-09-07 10:20:00+00|LoggedOut|00:20:00"});
}

TEST_F(sessions_pgtest, the_end_of_a_session_updates_its_row_in_place) {
  // sql/008: the logout's update is HOT (no new index entries) for nearly every session, not
  // only for the few that found room on a page filled to 90%. Logins in one statement, ends in the next, and
  // the counts of this transaction's updates of caliper.sessions.
  std::vector<event> logins, ends;
  for (unsigned i = 0; i < 300; ++i) {
    const auto user = "https://learn.example.edu/learn/api/v1/users/_" + std::to_string(100000 + i) + "_1";
    const auto session = "https://learn.example.edu/learn/api/v1/sessions/" + std::to_string(7000000 + i);
    logins.push_back({uuid(2 * i + 1), "LoggedIn", "2026-09-07 10:00:00+00", user, session, "ext" + std::to_string(i)});
    ends.push_back({uuid(2 * i + 2), i % 3 ? "LoggedOut" : "TimedOut", "2026-09-07 11:00:00+00", user, session});
  }
  const auto counts = pg_test_env::query(
      url_, insert_batch_sql(logins) + "; " + insert_batch_sql(ends) +
                "; SELECT pg_stat_get_xact_tuples_inserted('caliper.session_rows'::regclass), "
                "pg_stat_get_xact_tuples_updated('caliper.session_rows'::regclass), "
                "pg_stat_get_xact_tuples_hot_updated('caliper.session_rows'::regclass)");
  ASSERT_EQ(counts.size(), 1U);
  EXPECT_EQ(counts[0][0], "300");
  EXPECT_EQ(counts[0][1], "300");
  // The last row of a page may find no room (no pruning inside one transaction); at fillfactor
  // 90, 2 or 3 of a page's ~20 rows did: about 10%.
  EXPECT_GE(std::stoi(counts[0][2]), 270) << "HOT updates of caliper.sessions: " << counts[0][2] << " of 300";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.sessions WHERE end_reason <> 'open'"), "300");
}

TEST_F(sessions_pgtest, a_resent_event_is_stored_once_and_changes_nothing) {
  const event login{uuid(1), "LoggedIn", "2026-09-07 10:00:00+00", "u1", "s1"};
  EXPECT_EQ(insert_batch(url_, {login, login}), "1");
  EXPECT_EQ(insert_batch(url_, {login}), "0");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_events"), "1");
  EXPECT_EQ(sessions(), std::vector<std::string>{"learn-test|s1|u1|-|2026-09-07 10:00:00+00|-|open|-"});
}

TEST_F(sessions_pgtest, an_event_without_a_session_id_makes_no_session) {
  EXPECT_EQ(insert_batch(url_, {{uuid(1), "LoggedIn", "2026-09-07 10:00:00+00", "u1", ""}}), "1");
  EXPECT_TRUE(sessions().empty());
}

TEST_F(sessions_pgtest, logout_and_timeout_at_the_same_instant_end_as_logged_out) {
  insert_batch(url_, {{uuid(1), "TimedOut", "2026-09-07 11:00:00+00", "u1", "s1"}});
  insert_batch(url_, {{uuid(2), "LoggedOut", "2026-09-07 11:00:00+00", "u1", "s1"}});
  insert_batch(url_, {{uuid(3), "LoggedIn", "2026-09-07 10:00:00+00", "u1", "s2"}});
  insert_batch(url_, {{uuid(4), "LoggedOut", "2026-09-07 11:00:00+00", "u1", "s2"},
                      {uuid(5), "TimedOut", "2026-09-07 11:00:00+00", "u1", "s2"}});
  const auto s = sessions();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0], "learn-test|s1|u1|-|-|2026-09-07 11:00:00+00|LoggedOut|-");
  EXPECT_EQ(s[1], "learn-test|s2|u1|-|2026-09-07 10:00:00+00|2026-09-07 11:00:00+00|LoggedOut|01:00:00");
}

TEST_F(sessions_pgtest, the_user_comes_from_the_login_and_the_external_id_from_any_event) {
  // A TimedOut names the user without extensions; the LoggedIn arrives last.
  insert_batch(url_, {{uuid(1), "TimedOut", "2026-09-07 09:00:00+00", "u1", "s1"}});
  insert_batch(url_, {{uuid(2), "LoggedIn", "2026-09-07 08:00:00+00", "u1", "s1", "S1"}});
  insert_batch(url_, {{uuid(3), "LoggedOut", "2026-09-07 12:00:00+00", "u2", "s2", "S2"},
                      {uuid(4), "TimedOut", "2026-09-07 12:05:00+00", "u2", "s2"}});
  const auto s = sessions();
  ASSERT_EQ(s.size(), 2U);
  EXPECT_EQ(s[0], "learn-test|s1|u1|S1|2026-09-07 08:00:00+00|2026-09-07 09:00:00+00|TimedOut|01:00:00");
  EXPECT_EQ(s[1], "learn-test|s2|u2|S2|-|2026-09-07 12:00:00+00|LoggedOut|-");
}

TEST_F(sessions_pgtest, the_same_session_id_from_two_sources_is_two_sessions) {
  event a{uuid(1), "LoggedIn", "2026-09-07 10:00:00+00", "u1", "s1"};
  event b{uuid(2), "LoggedIn", "2026-09-07 10:05:00+00", "u9", "s1"};
  b.source = "canvas-test";
  insert_batch(url_, {a, b});
  EXPECT_EQ(sessions().size(), 2U);
}

// The anchor is the first LoggedIn; of its events (one user) the external id that is there, and
// one from any event when the anchor has none (sql/014).
TEST_F(sessions_pgtest, the_external_id_is_the_anchors_when_it_has_one) {
  insert_batch(url_, {{uuid(1), "LoggedIn", "2026-09-07 08:00:00+00", "u1", "s1"},
                      {uuid(2), "LoggedIn", "2026-09-07 08:00:00+00", "u1", "s1", "S5"},
                      {uuid(3), "LoggedIn", "2026-09-07 08:00:00+00", "u1", "s1", "S7"},
                      {uuid(4), "LoggedOut", "2026-09-07 09:00:00+00", "u1", "s1", "S1"},
                      {uuid(5), "LoggedIn", "2026-09-07 08:00:00+00", "u2", "s2"},
                      {uuid(6), "TimedOut", "2026-09-07 09:00:00+00", "u2", "s2", "S9"},
                      {uuid(7), "LoggedOut", "2026-09-07 08:30:00+00", "u3", "s3", "S3"},
                      {uuid(8), "LoggedOut", "2026-09-07 08:30:00+00", "u3", "s3", "S2"}});
  const auto s = sessions();
  ASSERT_EQ(s.size(), 3U);
  EXPECT_EQ(s[0], "learn-test|s1|u1|S5|2026-09-07 08:00:00+00|2026-09-07 09:00:00+00|LoggedOut|01:00:00");
  EXPECT_EQ(s[1], "learn-test|s2|u2|S9|2026-09-07 08:00:00+00|2026-09-07 09:00:00+00|TimedOut|01:00:00");
  EXPECT_EQ(s[2], "learn-test|s3|u3|S2|-|2026-09-07 08:30:00+00|LoggedOut|-");
}

// Two users at the anchor of a session without a LoggedIn (its first events, two TimedOut): the
// smaller IRI, and that user's external id.
TEST_F(sessions_pgtest, a_tie_at_the_first_event_goes_to_the_smaller_user_iri) {
  insert_batch(url_, {{uuid(1), "TimedOut", "2026-09-07 08:00:00+00", "u2", "s1", "S2"},
                      {uuid(2), "TimedOut", "2026-09-07 08:00:00+00", "u10", "s1", "S10"},
                      {uuid(3), "LoggedOut", "2026-09-07 09:00:00+00", "u0", "s1", "S0"}});
  EXPECT_EQ(sessions(), std::vector<std::string>{"learn-test|s1|u10|S10|-|2026-09-07 08:00:00+00|TimedOut|-"});
}

// A plan of the trigger is cached for the connection with the cost of the first batch it saw;
// once that passed jit_above_cost, every later batch was compiled by LLVM again (hundreds of ms
// for 1,000 rows). The trigger runs with jit = off (sql/014): with JIT forced on for everything
// else in the session, none of the trigger's statements is compiled.
TEST_F(sessions_pgtest, the_trigger_is_never_compiled_by_jit) {
  if (pg_test_env::scalar(url_, "SELECT pg_jit_available()") != "t")
    GTEST_SKIP() << "this PostgreSQL has no JIT provider (llvmjit): nothing to check";
  const auto plans = pg_test_env::plans_of(
      url_,
      {insert_batch_sql({{uuid(1), "LoggedIn", "2026-09-07 08:00:00+00", "u1", "s1"}}),
       insert_batch_sql({{uuid(2), "LoggedOut", "2026-09-07 09:00:00+00", "u1", "s1"}})},
      "SET jit_above_cost = 0; SET jit_inline_above_cost = -1; SET jit_optimize_above_cost = -1");
  std::size_t trigger_plans = 0, compiled = 0;
  for (const auto& p : plans) {
    if (p.find("new_events") == std::string::npos) continue;  // the transition table: the trigger's
    ++trigger_plans;
    if (p.find("JIT:") != std::string::npos) ++compiled;
  }
  // The writer's own statement is compiled (JIT forced on): the check can see JIT when it is there.
  EXPECT_TRUE(std::any_of(plans.begin(), plans.end(), [](const std::string& p) {
    return p.find("write_events") != std::string::npos && p.find("JIT:") != std::string::npos;
  })) << plans.size() << " plans";
  EXPECT_GE(trigger_plans, 4U);
  EXPECT_EQ(compiled, 0U);
  EXPECT_EQ(sessions().size(), 1U);
}

// Planned once per connection, not for every batch (sql/014: planning cost more than running
// on batches of a few rows).
TEST_F(sessions_pgtest, the_trigger_plans_its_statements_once_per_connection) {
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT array_to_string(proconfig, ' ') FROM pg_proc "
                                      "WHERE oid = 'caliper.sessions_after_insert'::regproc"),
            "search_path=pg_catalog, pg_temp jit=off plan_cache_mode=force_generic_plan");
}

// Events of up to 40 sessions with every complication, delivered in 6 different orders and batchings:
// the rows must be those of the first delivery every time.
TEST_F(sessions_pgtest, any_order_and_batching_gives_the_same_rows) {
  std::vector<event> all;
  unsigned n = 1;
  for (unsigned s = 0; s < 40; ++s) {
    const std::string sid = "s" + std::to_string(s), user = "u" + std::to_string(s % 7);
    const std::string ext = s % 3 == 0 ? "" : "S" + std::to_string(s % 7);
    auto at = [s](unsigned m) {  // 10:00 + s + m minutes
      char t[40];
      std::snprintf(t, sizeof t, "2026-09-07 %02u:%02u:00+00", 10 + (s + m) / 60, (s + m) % 60);
      return std::string(t);
    };
    if (s % 5 != 0) all.push_back({uuid(n++), "LoggedIn", at(0), user, sid, ext});
    if (s % 4 != 0) all.push_back({uuid(n++), "LoggedOut", at(7), user, sid, ext});
    if (s % 3 == 0) all.push_back({uuid(n++), "TimedOut", at(7), user, sid, ""});
    if (s % 6 == 0) all.push_back({uuid(n++), "LoggedOut", at(2), user, sid, ext});
    if (s % 8 == 0) all.push_back({uuid(n++), "TimedOut", at(9), user, sid, ""});
  }
  std::vector<std::string> first;
  std::mt19937 rng(20260907);
  for (int round = 0; round < 6; ++round) {
    pg_test_env::query(url_, "TRUNCATE caliper.event_rows, caliper.session_rows");
    std::vector<event> order = all;
    if (round > 0) std::shuffle(order.begin(), order.end(), rng);
    if (round % 2 == 0) order.push_back(order[static_cast<std::size_t>(round)]);  // a resend
    const std::size_t batch = round == 0 ? order.size() : static_cast<std::size_t>(1 + round * 3);
    for (std::size_t i = 0; i < order.size(); i += batch)
      insert_batch(url_, {order.begin() + static_cast<std::ptrdiff_t>(i),
                          order.begin() + static_cast<std::ptrdiff_t>(std::min(i + batch, order.size()))});
    const auto got = sessions();
    if (round == 0) {
      first = got;
      std::vector<std::string> ids;
      for (const event& e : all) ids.push_back(e.session);
      std::sort(ids.begin(), ids.end());
      ASSERT_EQ(first.size(), static_cast<std::size_t>(std::unique(ids.begin(), ids.end()) - ids.begin()));
    } else {
      EXPECT_EQ(got, first) << "round " << round;
    }
  }
}

TEST_F(sessions_pgtest, the_writer_keeps_sessions_up_to_date) {
  store::batch_writer w(store::testing::test_options(url_));
  w.start();
  ASSERT_TRUE(store::testing::wait_until([&] { return w.stats().connected.load(); },
                                         std::chrono::seconds(10)));
  auto b = store::testing::make_batch(1, 2);
  b.events[1].session_id = b.events[0].session_id;
  b.events[1].action = caliper::session_action::logged_out;
  auto [done, f] = store::testing::make_completion();
  ASSERT_TRUE(w.submit(std::move(b), std::move(done)));
  ASSERT_TRUE(store::testing::wait_done(f, std::chrono::seconds(10)));
  EXPECT_EQ(f.get().result, store::outcome::committed);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT end_reason || ' ' || (duration > '0'::interval) "
                                      "FROM caliper.sessions"),
            "LoggedOut true");
  w.stop(std::chrono::seconds(5));
}

}  // namespace
}  // namespace caliper_sessiond::analytics_testing

// The three batch statements (text arrays, binary arrays, COPY through a temp table) must
// store the same rows and report the same errors: the writer may use any of them.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>

#include <stdexcept>
#include <thread>

#include "batch_statement.hpp"
#include "encode.hpp"
#include "caliper_sessiond/store/erasure.hpp"
#include "caliper_sessiond/store/maintenance.hpp"
#include "caliper_sessiond/store/migrations.hpp"
#include "pg_test_env.hpp"
#include "store_test_support.hpp"

namespace caliper_sessiond::store {
namespace {

using caliper_sessiond::testing::pg_test_env;

struct statement {
  const char* name;
  batch_write_fn write;
  std::optional<pg::error> (*prepare)(const pg::connection&);
};

const statement statements[] = {
    {"text_arrays", write_with_arrays, prepare_array_statement},
    {"binary_arrays", write_with_binary_arrays, prepare_array_statement},
    {"copy_temp", write_with_copy, prepare_copy_statement},
};

class batch_statement_pgtest : public ::testing::TestWithParam<statement> {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = env_->create_database("statement");
    ASSERT_TRUE(migrate(url_).ok);
    conn_ = pg::connection::connect(url_);
    ASSERT_TRUE(conn_.ok()) << conn_.error_message();
    ASSERT_FALSE(GetParam().prepare(conn_));
  }

  std::optional<pg::error> write(const std::vector<caliper::session_event>& events,
                                 std::span<const reject_row> rejects, std::vector<bool>& inserted) {
    std::vector<event_row> rows;
    for (const auto& e : events) rows.push_back({&e, "src", 1'709'622'500'000'000});
    return GetParam().write(conn_, rows, rejects, inserted);
  }

  std::optional<pg_test_env> env_;
  std::string url_;
  pg::connection conn_;
};

TEST_P(batch_statement_pgtest, stores_values_with_quotes_backslashes_nulls_and_unicode) {
  auto e = testing::make_event(1);
  e.user_agent = "a \"b\" c\\d {e}, f\ng\th\r \xC3\xBC NULL";
  e.session_name = "NULL";
  e.user_lms_id = "";
  e.ip_address = "192.0.2.1";
  e.event_time_us = 1'709'622'489'012'345;
  std::vector<bool> inserted;
  const std::vector<reject_row> rejects{{"src", 1'709'622'500'000'000, "why \"x\"\\", "raw\t{\"a\":1}\n"}};
  ASSERT_FALSE(write({e}, rejects, inserted));
  EXPECT_EQ(inserted, std::vector<bool>{true});
  const auto row = pg_test_env::query(url_, R"sql(
    SELECT user_agent, session_name, user_lms_id, user_external_id, ip_address,
      event_time AT TIME ZONE 'UTC', received_at AT TIME ZONE 'UTC' FROM caliper.session_events)sql");
  ASSERT_EQ(row.size(), 1U);
  EXPECT_EQ(row[0], (std::vector<std::string>{*e.user_agent, "NULL", "", "\\N", "192.0.2.1",
                                              "2024-03-05 07:08:09.012345", "2024-03-05 07:08:20"}));
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT reason || '|' || raw FROM caliper.rejected_events"),
            "why \"x\"\\|raw\t{\"a\":1}\n");
}

TEST_P(batch_statement_pgtest, reports_which_rows_were_new) {
  std::vector<bool> inserted;
  ASSERT_FALSE(write({testing::make_event(2)}, {}, inserted));
  const std::vector<caliper::session_event> batch{testing::make_event(1), testing::make_event(2),
                                                  testing::make_event(3), testing::make_event(1)};
  ASSERT_FALSE(write(batch, {}, inserted));
  EXPECT_EQ(inserted, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_events"), "3");
}

TEST_P(batch_statement_pgtest, invalid_text_is_a_data_error_and_stores_nothing) {
  auto bad = testing::make_event(5);
  bad.actor_id = "x\xFFy";
  std::vector<bool> inserted;
  const auto err = write({testing::make_event(4), bad}, {}, inserted);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->action, pg::error_action::reject) << err->sqlstate << " " << err->message;
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_events"), "0");
  ASSERT_FALSE(write({testing::make_event(4)}, {}, inserted)) << "the connection stays usable";
}

TEST_P(batch_statement_pgtest, an_id_that_is_not_a_uuid_is_a_data_error) {
  auto bad = testing::make_event(6);
  bad.event_id = "not-a-uuid";
  std::vector<bool> inserted;
  const auto err = write({testing::make_event(7), bad}, {}, inserted);
  ASSERT_TRUE(err);
  EXPECT_EQ(err->action, pg::error_action::reject) << err->sqlstate << " " << err->message;
}

// The long texts read back in place whatever the statement stored (keys into caliper.texts for
// the array statements, the texts themselves for COPY), a user agent longer than a btree entry
// included, and the array statements store each text once.
TEST_P(batch_statement_pgtest, long_texts_read_back_in_place_and_are_stored_once) {
  std::vector<caliper::session_event> batch{testing::make_event(1), testing::make_event(2), testing::make_event(3)};
  for (auto& e : batch) {
    e.user_agent = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";
    e.ed_app_id = "https://lms.example.edu/app";
  }
  batch[1].action = caliper::session_action::timed_out;
  batch[1].actor_id = "https://lms.example.edu/app";  // the LMS times the session out
  batch[2].user_agent = std::string(10'000, 'u');
  std::vector<bool> inserted;
  ASSERT_FALSE(write(batch, {}, inserted));
  const auto rows = pg_test_env::query(url_, "SELECT actor_id, user_id, user_agent, ed_app_id, sensor "
                                             "FROM caliper.session_events ORDER BY event_id");
  ASSERT_EQ(rows.size(), batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i)
    EXPECT_EQ(rows[i], (std::vector<std::string>{batch[i].actor_id, batch[i].user_id, *batch[i].user_agent,
                                                 *batch[i].ed_app_id, batch[i].sensor}))
        << i;
  const bool compact = GetParam().write != write_with_copy;
  // The session IRIs' prefix and the three users are keys of the sessions in every form (sql/013;
  // the writer's statement keeps them in the event rows too, sql/011 and 012).
  const bool writer = GetParam().write == write_with_binary_arrays;
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts"), compact ? "8" : "4");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.event_rows WHERE actor_id IS NOT NULL"),
            compact ? "0" : "3");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(user_id) || ' ' || count(user_ref) FROM caliper.event_rows"),
            writer ? "0 3" : "3 0");
}

// Session IRIs and names read back as sent, and caliper.sessions has the IRIs, whatever the
// statement stored (the writer's: the prefix as a key, the tail, the name only when it is not
// the tail).
TEST_P(batch_statement_pgtest, session_iris_and_names_read_back_as_sent) {
  const std::vector<std::pair<std::optional<std::string>, std::optional<std::string>>> sessions{
      {"https://lms.example.edu/sessions/ABC", "ABC"},     // Learn: the name is the tail
      {"https://lms.example.edu/sessions/DEF", "Monday"},  // another name
      {"https://lms.example.edu/sessions/GHI", std::nullopt},
      {"urn:uuid:2c6a0f5c", "urn:uuid:2c6a0f5c"},  // no '/'
      {"https://lms.example.edu/sessions/", ""},   // ends with '/': kept whole; an empty name
      {std::nullopt, "a name without a session"},
  };
  std::vector<caliper::session_event> batch;
  for (unsigned i = 0; i < sessions.size(); ++i) {
    batch.push_back(testing::make_event(i + 1));
    batch.back().session_id = sessions[i].first;
    batch.back().session_name = sessions[i].second;
  }
  std::vector<bool> inserted;
  ASSERT_FALSE(write(batch, {}, inserted));
  const auto rows = pg_test_env::query(url_, "SELECT session_id, session_name FROM caliper.session_events ORDER BY event_id");
  ASSERT_EQ(rows.size(), sessions.size());
  for (std::size_t i = 0; i < sessions.size(); ++i)
    EXPECT_EQ(rows[i], (std::vector<std::string>{sessions[i].first.value_or("\\N"), sessions[i].second.value_or("\\N")})) << i;
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(session_id, ' ' ORDER BY session_id) FROM caliper.sessions"),
            "https://lms.example.edu/sessions/ https://lms.example.edu/sessions/ABC "
            "https://lms.example.edu/sessions/DEF https://lms.example.edu/sessions/GHI urn:uuid:2c6a0f5c");
  if (GetParam().write == write_with_binary_arrays) {
    EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(session_id) || ' ' || count(session_tail) || ' ' || "
                                        "count(session_prefix_ref) || ' ' || count(DISTINCT session_prefix_ref) || ' ' || "
                                        "string_agg(session_name, ',' ORDER BY event_id) FROM caliper.event_rows"),
              "1 4 3 1 Monday,,a name without a session");
  }
}

// Two writers adding the same new texts at the same time: each text once, every row with its
// own (a lookup that missed the other writer's text would show as NULL).
TEST_P(batch_statement_pgtest, concurrent_writers_add_each_new_text_once) {
  constexpr unsigned batches = 20, per_batch = 5;
  std::vector<std::optional<pg::error>> errors(2);
  std::vector<std::thread> writers;
  for (unsigned w = 0; w < 2; ++w)
    writers.emplace_back([&, w] {
      auto conn = pg::connection::connect(url_);
      if (!conn.ok() || GetParam().prepare(conn)) {
        errors[w] = pg::error{pg::error_action::fail, "", "cannot connect or prepare: " + std::string(conn.error_message())};
        return;
      }
      for (unsigned b = 0; b < batches && !errors[w]; ++b) {
        std::vector<caliper::session_event> events;
        for (unsigned i = 0; i < per_batch; ++i) {
          events.push_back(testing::make_event(1 + w * 10'000 + b * per_batch + i));
          events.back().user_agent = "agent " + std::to_string(b);
          // The same new edApps too, met in the opposite order by the other writer.
          events.back().ed_app_id = "app " + std::to_string(w == 0 ? b : batches - 1 - b);
        }
        std::vector<event_row> rows;
        for (const auto& e : events) rows.push_back({&e, "src", 1'709'622'500'000'000});
        std::vector<bool> inserted;
        errors[w] = GetParam().write(conn, rows, {}, inserted);
      }
    });
  for (auto& t : writers) t.join();
  for (const auto& e : errors) ASSERT_FALSE(e) << e->sqlstate << " " << e->message;
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) || ' ' || count(DISTINCT user_agent) || ' ' || "
                                      "count(*) FILTER (WHERE user_agent = 'agent ' || "
                                      "((('x' || right(event_id::text, 8))::bit(32)::int - 1) % 10000 / 5)) "
                                      "FROM caliper.session_events"),
            "200 20 200");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(DISTINCT ed_app_id) || ' ' || count(*) FILTER (WHERE ed_app_id IS NULL) "
                                      "FROM caliper.session_events"),
            "20 0");
  if (GetParam().write != write_with_copy) {
    EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts WHERE value LIKE 'agent %' OR value LIKE 'app %'"),
              "40");
  }
}

// The writer's key cache (sql/010): a connection asks caliper.text_keys for a text once and
// then uses the key it remembers; a new connection asks again.
class text_keys_pgtest : public ::testing::Test {
protected:
  void SetUp() override {
    env_ = pg_test_env::from_environment();
    if (!env_) GTEST_SKIP() << "CALIPER_TEST_PG_DIR is unset: run the pg tests via scripts/test";
    url_ = env_->create_database("text_keys");
    ASSERT_TRUE(migrate(url_).ok);
  }

  static pg::connection connect(const std::string& url) {
    auto conn = pg::connection::connect(url);
    EXPECT_TRUE(conn.ok()) << conn.error_message();
    EXPECT_FALSE(prepare_array_statement(conn));
    return conn;
  }

  /// Writes events first..first+count-1 with user agent `agent` through the writer's statement.
  static void write(const pg::connection& conn, unsigned first, unsigned count, const std::string& agent) {
    std::vector<caliper::session_event> events;
    for (unsigned i = 0; i < count; ++i) {
      events.push_back(testing::make_event(first + i));
      events.back().user_agent = agent;
    }
    std::vector<event_row> rows;
    for (const auto& e : events) rows.push_back({&e, "src", 1'709'622'500'000'000});
    std::vector<bool> inserted;
    const auto err = write_with_binary_arrays(conn, rows, {}, inserted);
    ASSERT_FALSE(err) << err->sqlstate << " " << err->message;
  }

  std::string resolved_long_ago(const std::string& agent) const {
    return pg_test_env::scalar(url_, "SELECT resolved_at < now() - interval '1 year' FROM caliper.texts "
                                     "WHERE value = '" + agent + "'");
  }

  std::optional<pg_test_env> env_;
  std::string url_;
};

TEST_F(text_keys_pgtest, a_connection_asks_for_a_text_once_and_a_new_one_asks_again) {
  auto first = connect(url_);
  write(first, 1, 3, "agent A");
  ASSERT_EQ(resolved_long_ago("agent A"), "f");
  pg_test_env::query(url_, "UPDATE caliper.texts SET resolved_at = '2000-01-01Z'");
  write(first, 4, 3, "agent A");
  EXPECT_EQ(resolved_long_ago("agent A"), "t") << "the key came from the writer's memory";
  auto second = connect(url_);
  write(second, 7, 3, "agent A");
  EXPECT_EQ(resolved_long_ago("agent A"), "f") << "a new connection asks the database";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FILTER (WHERE v.user_agent = 'agent A') || ' ' || "
                                      "count(DISTINCT e.user_agent_ref) FROM caliper.session_events AS v "
                                      "JOIN caliper.event_rows AS e USING (event_id, event_time)"),
            "9 1");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts"), "12")
      << "the agent, the sensor, the sessions' prefix and the 9 users";
}

// The writer's INSERT has no ON CONFLICT until it meets a resent event (23505): then that batch
// is written again with ON CONFLICT DO NOTHING, and so are the thread's batches for
// on_conflict_after_duplicate. Every event is stored once and counted as new or duplicate.
TEST_F(text_keys_pgtest, a_resent_event_sends_the_batch_again_with_on_conflict) {
  std::atomic<std::uint64_t> retries{0};
  set_writer_thread_settings({.duplicate_retries = &retries});
  auto conn = connect(url_);
  const auto write_events = [&](std::vector<unsigned> numbers) {
    std::vector<caliper::session_event> events;
    for (const unsigned n : numbers) events.push_back(testing::make_event(n));
    std::vector<event_row> rows;
    for (const auto& e : events) rows.push_back({&e, "src", 1'709'622'500'000'000});
    std::vector<bool> inserted;
    const auto err = write_with_binary_arrays(conn, rows, {}, inserted);
    EXPECT_FALSE(err) << err->sqlstate << " " << err->message;
    return inserted;
  };
  using flags = std::vector<bool>;
  EXPECT_EQ(write_events({1, 2, 3}), (flags{true, true, true}));
  EXPECT_EQ(retries.load(), 0U);
  EXPECT_EQ(write_events({2, 3, 4, 5}), (flags{false, false, true, true}));
  EXPECT_EQ(retries.load(), 1U) << "the plain INSERT met events 2 and 3";
  EXPECT_EQ(write_events({6, 7}), (flags{true, true}));
  EXPECT_EQ(retries.load(), 1U) << "within the minute after a resend: ON CONFLICT at once";
  set_writer_thread_settings({.duplicate_retries = &retries, .on_conflict_after_duplicate = {}});
  EXPECT_EQ(write_events({8}), (flags{true}));
  EXPECT_EQ(retries.load(), 1U) << "no resend: the plain INSERT stored it";
  EXPECT_EQ(write_events({9, 9}), (flags{true, false}));
  EXPECT_EQ(retries.load(), 2U) << "the same event twice in one batch";
  EXPECT_EQ(write_events({7, 10}), (flags{false, true}));
  EXPECT_EQ(retries.load(), 3U);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) || ' ' || count(DISTINCT event_id) FROM caliper.event_rows"),
            "10 10");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.sessions"),
            pg_test_env::scalar(url_, "SELECT count(DISTINCT session_id) FROM caliper.session_events"));
  set_writer_thread_settings({});
}

// caliper.text_keys is planned for every call (sql/015). A connection that began on a nearly
// empty caliper.texts (analyzed so) had a generic plan cached that scanned the whole table;
// once the table has grown (20,000 texts, not analyzed yet), its lookup goes by the digest's
// index.
TEST_F(text_keys_pgtest, text_keys_looks_texts_up_by_index_after_the_table_grew) {
  std::vector<std::string> statements{"SELECT count(*) FROM caliper.text_keys(ARRAY['first'])", "ANALYZE caliper.texts"};
  for (int i = 0; i < 8; ++i)
    statements.push_back("SELECT count(*) FROM caliper.text_keys(ARRAY['early " + std::to_string(i) + "'])");
  statements.push_back("INSERT INTO caliper.texts (digest, value) SELECT caliper.text_digest('grown ' || n), "
                       "'grown ' || n FROM generate_series(1, 20000) AS n");
  statements.push_back("SELECT count(*) FROM caliper.text_keys(ARRAY['late 1', 'late 2'])");
  const auto plans = pg_test_env::plans_of(url_, statements);
  const auto last = std::find_if(plans.rbegin(), plans.rend(), [](const std::string& p) {
    return p.find("SELECT t.id, t.value FROM caliper.texts AS t WHERE t.digest = ANY (wanted)") != std::string::npos;
  });
  ASSERT_NE(last, plans.rend()) << plans.size() << " plans, none of text_keys' lookup";
  EXPECT_EQ(last->find("Seq Scan"), std::string::npos) << *last;
  EXPECT_NE(last->find("Index"), std::string::npos) << *last;
}

// A session whose LoggedIn was stored with its IRI in place (caliper.write_events: a server of
// the version before 011, or a loader) and whose LoggedOut the writer stores as prefix and tail
// is one session.
TEST_F(text_keys_pgtest, a_session_begun_in_one_form_ends_in_the_other) {
  auto conn = connect(url_);
  auto in = testing::make_event(1);
  auto out = testing::make_event(2);
  out.session_id = in.session_id;
  out.action = caliper::session_action::logged_out;
  std::vector<bool> inserted;
  const std::vector<event_row> first{{&in, "src", 1'709'622'500'000'000}}, second{{&out, "src", 1'709'622'500'000'000}};
  ASSERT_FALSE(write_with_arrays(conn, first, {}, inserted));
  ASSERT_FALSE(write_with_binary_arrays(conn, second, {}, inserted));
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(session_id) || ' ' || count(session_tail) FROM caliper.event_rows"), "1 1");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(user_id) || ' ' || count(user_ref) FROM caliper.event_rows"), "1 1");
  EXPECT_EQ(pg_test_env::query(url_, "SELECT session_id, user_id, end_reason, started_at < ended_at FROM caliper.sessions"),
            (std::vector<std::vector<std::string>>{{*in.session_id, in.user_id, "LoggedOut", "t"}}));
}

// caliper.session_rows keys a session IRI as the writer cuts it (sql/013): the trigger cuts the
// IRIs of rows with texts in place in SQL, and both must give one key for one IRI.
TEST_F(text_keys_pgtest, sql_cuts_a_session_iri_as_the_writer_does) {
  const pg::connection conn = pg::connection::connect(url_);
  ASSERT_TRUE(conn.ok());
  for (const std::string iri : {"https://lms.example.edu/sessions/2C6A0F5C", "urn:uuid:2c6a0f5c", "", "/", "a/",
                                "https://lms/ends/", "//x", "a/b/c", "https://lms/s\u00e9ance/\u00e9t\u00e9", "x/ /"}) {
    const std::array<const char*, 1> values{iri.c_str()};
    const pg::result r = conn.exec_params("SELECT coalesce(prefix, '<none>'), tail FROM caliper.split_session_iri($1)", values, {},
                                          {}, false);
    ASSERT_FALSE(conn.check(r, PGRES_TUPLES_OK));
    ASSERT_EQ(r.rows(), 1) << iri;
    const auto cut = encode::split_iri(iri);
    const std::string prefix = cut && cut->prefix ? std::string(*cut->prefix) : "<none>";
    const std::string tail = cut ? std::string(cut->tail) : iri;  // kept whole
    EXPECT_EQ(r.value(0, 0), prefix) << iri;
    EXPECT_EQ(r.value(0, 1), tail) << iri;
  }
}

// A session whose events come in every form (IRI and user in place, as keys, an IRI without a
// '/' and one that ends with '/') is one row of caliper.session_rows, whichever form came first.
TEST_F(text_keys_pgtest, every_form_of_a_session_is_one_row) {
  auto conn = connect(url_);
  ASSERT_FALSE(prepare_copy_statement(conn));
  for (const std::string iri : {"https://lms.example.edu/sessions/S1", "urn:uuid:2c6a0f5c", "https://lms.example.edu/ends/"}) {
    auto in = testing::make_event(1);
    auto out = testing::make_event(2);
    auto again = testing::make_event(3);
    in.session_id = out.session_id = again.session_id = iri;
    out.user_id = again.user_id = in.user_id;
    out.action = caliper::session_action::logged_out;
    again.action = caliper::session_action::timed_out;
    std::vector<bool> inserted;
    const std::vector<event_row> first{{&in, "src", 1'709'622'500'000'000}}, second{{&out, "src", 1'709'622'500'000'000}},
        third{{&again, "src", 1'709'622'500'000'000}};
    pg_test_env::query(url_, "TRUNCATE caliper.event_rows, caliper.session_rows");
    ASSERT_FALSE(write_with_binary_arrays(conn, first, {}, inserted));
    ASSERT_FALSE(write_with_arrays(conn, second, {}, inserted));
    ASSERT_FALSE(write_with_copy(conn, third, {}, inserted));
    EXPECT_EQ(pg_test_env::query(url_, "SELECT session_id, user_id, end_reason FROM caliper.sessions"),
              (std::vector<std::vector<std::string>>{{iri, in.user_id, "LoggedOut"}}))
        << iri;
    EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_rows"), "1") << iri;
  }
}

// Two LoggedIns of one session at the same instant by different users: the session is the
// smaller IRI's (sql/003's rule), whichever user's key is smaller and whatever the batches.
TEST_F(text_keys_pgtest, a_tie_between_users_goes_to_the_smaller_iri_not_the_smaller_key) {
  // users/9 gets the smaller key; users/10 is the smaller IRI.
  pg_test_env::query(url_, "SELECT count(*) FROM caliper.text_keys(ARRAY['https://lms.example.edu/users/9']); "
                           "SELECT count(*) FROM caliper.text_keys(ARRAY['https://lms.example.edu/users/10'])");
  for (const bool one_batch : {true, false}) {
    pg_test_env::query(url_, "TRUNCATE caliper.event_rows, caliper.session_rows");
    auto conn = connect(url_);
    auto a = testing::make_event(9);
    auto b = testing::make_event(10);
    b.session_id = a.session_id;
    b.event_time_us = a.event_time_us;
    ASSERT_EQ(a.user_id, "https://lms.example.edu/users/9");
    ASSERT_EQ(b.user_id, "https://lms.example.edu/users/10");
    std::vector<bool> inserted;
    if (one_batch) {
      const std::vector<event_row> both{{&a, "src", 1'709'622'500'000'000}, {&b, "src", 1'709'622'500'000'000}};
      ASSERT_FALSE(write_with_binary_arrays(conn, both, {}, inserted));
    } else {
      const std::vector<event_row> first{{&a, "src", 1'709'622'500'000'000}}, second{{&b, "src", 1'709'622'500'000'000}};
      ASSERT_FALSE(write_with_binary_arrays(conn, first, {}, inserted));
      ASSERT_FALSE(write_with_binary_arrays(conn, second, {}, inserted));
    }
    EXPECT_EQ(pg_test_env::scalar(url_, "SELECT user_id FROM caliper.sessions"), b.user_id) << one_batch;
  }
}

// A row whose session IRI is not cut as the writer cuts it (an empty tail after a prefix, a '/'
// in the tail) would make a second session for one IRI: it is refused (sql/013), 23514.
TEST_F(text_keys_pgtest, a_session_iri_cut_otherwise_than_the_writer_cuts_it_is_refused) {
  for (const std::string tail : {"", "S1/x"}) {
    try {
      pg_test_env::query(url_, R"sql(
        INSERT INTO caliper.event_rows (event_id, source, action, event_time, user_ref, session_prefix_ref,
                                        session_tail, sensor, received_at)
        SELECT '00000000-0000-4000-8000-0000000000ee', 'src', 'LoggedOut', '2024-03-05 08:00Z',
               (SELECT id FROM caliper.text_keys(ARRAY['https://lms.example.edu/users/1'])),
               (SELECT id FROM caliper.text_keys(ARRAY['https://lms.example.edu/sessions/S1/'])), ')sql" +
                                   tail + "', 's', now()");
      ADD_FAILURE() << "stored, tail '" << tail << "'";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("event_rows_session_tail_check"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.session_rows"), "0");
}

// forget deletes the sessions its events belonged to also when the writer stored their IRI as
// prefix and tail: here a session begun by another user (its row names that user), which the
// person's event joined.
TEST_F(text_keys_pgtest, forget_finds_the_sessions_of_events_stored_as_prefix_and_tail) {
  auto conn = connect(url_);
  auto other = testing::make_event(1);
  other.user_id = other.actor_id = "https://lms.example.edu/users/other";
  auto person = testing::make_event(2);
  person.user_id = person.actor_id = "https://lms.example.edu/users/person";
  person.session_id = other.session_id;
  person.action = caliper::session_action::logged_out;
  auto alone = testing::make_event(3);
  alone.user_id = alone.actor_id = "https://lms.example.edu/users/third";
  std::vector<event_row> rows;
  for (const auto* e : {&other, &person, &alone}) rows.push_back({e, "src", 1'709'622'500'000'000});
  std::vector<bool> inserted;
  ASSERT_FALSE(write_with_binary_arrays(conn, rows, {}, inserted));
  ASSERT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(user_id, ',' ORDER BY user_id) FROM caliper.sessions"),
            "https://lms.example.edu/users/other,https://lms.example.edu/users/third");
  const auto r = forget_user(url_, "https://lms.example.edu/users/person", false);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.counts.events, 1U);
  EXPECT_EQ(r.counts.sessions, 1U) << "the session the person's event belonged to";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(user_id, ',') FROM caliper.sessions"),
            "https://lms.example.edu/users/third");
}

// The person's IRI in caliper.texts goes too (sql/012), but only once no writer may still hold
// its key: forget records it as owed, and maintenance deletes it once 8 hours idle. A text that
// events stored after the erasure use again is theirs and stays.
TEST_F(text_keys_pgtest, forget_deletes_the_persons_iri_once_no_writer_may_hold_it) {
  auto conn = connect(url_);
  auto person = testing::make_event(1);
  person.user_id = person.actor_id = "https://lms.example.edu/users/person";
  person.user_external_id = "S42";
  auto again = testing::make_event(2);  // the same person, without the external id
  again.user_id = again.actor_id = person.user_id;
  again.user_external_id.reset();
  auto returning = testing::make_event(3);
  returning.user_id = returning.actor_id = "https://lms.example.edu/users/returning";
  returning.user_external_id = "S43";
  auto acting = testing::make_event(5);  // the person acting for a student: the event stays
  acting.user_id = "https://lms.example.edu/users/student";
  acting.actor_id = person.user_id;
  std::vector<event_row> rows;
  for (const auto* e : {&person, &again, &returning, &acting}) rows.push_back({e, "src", 1'709'622'500'000'000});
  std::vector<bool> inserted;
  ASSERT_FALSE(write_with_binary_arrays(conn, rows, {}, inserted));
  ASSERT_EQ(pg_test_env::scalar(url_, "SELECT count(user_ref) || ' ' || count(actor_ref) FROM caliper.event_rows"), "4 1");

  const auto dry = forget_user(url_, "S42", true);
  ASSERT_TRUE(dry.ok) << dry.error;
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts_forget_due"), "0") << "a dry run owes nothing";

  for (const char* id : {"S42", "S43"}) {
    const auto r = forget_user(url_, id, false);
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.counts.users, 1U) << id;
    EXPECT_EQ(r.counts.actors_masked, id == std::string("S42") ? 1U : 0U) << id;
    EXPECT_EQ(r.texts_deleted, 0U) << id;
    EXPECT_EQ(r.texts_note, "") << id;
  }
  EXPECT_EQ(pg_test_env::query(url_, "SELECT user_id, actor_id FROM caliper.session_events"),
            (std::vector<std::vector<std::string>>{{acting.user_id, "urn:caliper-sessiond:erased"}}))
      << "the student's event stays, without the person as its actor";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(actors_masked::text, ',' ORDER BY id) FROM caliper.erasures"),
            "1,0");
  const std::string texts_of_people = "SELECT string_agg(value, ',' ORDER BY value) FROM caliper.texts "
                                      "WHERE value LIKE '%/users/%' AND value NOT LIKE '%student'";
  EXPECT_EQ(pg_test_env::scalar(url_, texts_of_people),
            "https://lms.example.edu/users/person,https://lms.example.edu/users/returning")
      << "resolved just now: a writer may still hold the keys";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts_forget_due"), "2");
  EXPECT_THROW(pg_test_env::query(url_, "SET ROLE caliper_analyst; SELECT count(*) FROM caliper.texts_forget_due"),
               std::runtime_error)
      << "who asked to be erased is not for analysts";

  // The LMS sends an event of the second person after the erasure: it is stored again.
  auto later = testing::make_event(4);
  later.user_id = later.actor_id = returning.user_id;
  std::vector<event_row> later_rows{{&later, "src", 1'709'622'500'000'000}};
  ASSERT_FALSE(write_with_binary_arrays(conn, later_rows, {}, inserted));

  const maintenance_options options;
  auto m = run_maintenance(url_, options);
  ASSERT_TRUE(m.ok) << m.error;
  EXPECT_EQ(std::count(m.actions.begin(), m.actions.end(), "deleted 1 texts of erased people"), 0);
  pg_test_env::query(url_, "UPDATE caliper.texts SET resolved_at = now() - interval '8 hours 1 minute'");
  m = run_maintenance(url_, options);
  ASSERT_TRUE(m.ok) << m.error;
  EXPECT_EQ(std::count(m.actions.begin(), m.actions.end(), "deleted 1 texts of erased people"), 1);
  EXPECT_EQ(pg_test_env::scalar(url_, texts_of_people), "https://lms.example.edu/users/returning")
      << "the person's IRI is gone; the one a later event uses stays";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts_forget_due"), "0");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(user_id, ',' ORDER BY user_id) FROM caliper.session_events"),
            returning.user_id + "," + acting.user_id);
}

// A person whose IRI no writer asked for in 8 hours leaves caliper.texts with the erasure.
TEST_F(text_keys_pgtest, forget_deletes_an_idle_iri_at_once) {
  auto conn = connect(url_);
  auto person = testing::make_event(1);
  person.user_external_id = "S44";
  std::vector<event_row> rows{{&person, "src", 1'709'622'500'000'000}};
  std::vector<bool> inserted;
  ASSERT_FALSE(write_with_binary_arrays(conn, rows, {}, inserted));
  pg_test_env::query(url_, "UPDATE caliper.texts SET resolved_at = now() - interval '9 hours'");
  const auto r = forget_user(url_, "S44", false);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.texts_deleted, 1U);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts WHERE value = '" + person.user_id + "'"), "0");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts_forget_due"), "0");
}

// The analysts' views count the users whatever form their rows hold them in (the server's keys,
// caliper.write_events' text): they read caliper.session_events (sql/012).
TEST_F(text_keys_pgtest, the_views_count_users_of_every_form) {
  auto conn = connect(url_);
  std::vector<caliper::session_event> events;
  for (unsigned i = 0; i < 6; ++i) {
    events.push_back(testing::make_event(1 + i));
    // The keyed rows' users 0-2, the text rows' 2-4: user 2 in both forms counts once.
    events.back().user_id = events.back().actor_id = "https://lms.example.edu/users/" + std::to_string(i < 3 ? i : i - 1);
  }
  std::vector<event_row> keyed, text;
  for (std::size_t i = 0; i < events.size(); ++i)
    (i < 3 ? keyed : text).push_back({&events[i], "src", 1'709'622'500'000'000});
  std::vector<bool> inserted;
  ASSERT_FALSE(write_with_binary_arrays(conn, keyed, {}, inserted));
  ASSERT_FALSE(write_with_arrays(conn, text, {}, inserted));
  ASSERT_EQ(pg_test_env::scalar(url_, "SELECT count(user_ref) || ' ' || count(user_id) FROM caliper.event_rows"), "3 3");
  const std::string expected = pg_test_env::scalar(
      url_, "SELECT sum(n) FROM (SELECT count(DISTINCT user_id) AS n FROM caliper.session_events GROUP BY event_time::date) AS d");
  ASSERT_EQ(expected, "5");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT sum(active_users) FROM caliper.daily_active_users"), expected);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT sum(users) FROM caliper.logins_by_hour"),
            pg_test_env::scalar(url_, "SELECT sum(n) FROM (SELECT count(DISTINCT user_id) AS n FROM caliper.session_events "
                                      "WHERE action = 'LoggedIn' GROUP BY date_trunc('hour', event_time)) AS h"));
  EXPECT_NE(pg_test_env::scalar(url_, "SELECT sum(users) FROM caliper.logins_by_hour"), "0");
}

// A user key without its text is refused by the sessions trigger, not stored under no user; a
// row with neither the IRI nor a key is refused by the table.
TEST_F(text_keys_pgtest, a_user_key_without_its_text_or_no_user_at_all_is_refused) {
  const std::string insert = "INSERT INTO caliper.event_rows (event_id, source, action, event_time, session_id, "
                             "sensor, received_at, user_ref) VALUES (gen_random_uuid(), 'src', 'LoggedIn', now(), "
                             "'https://lms.example.edu/sessions/1', 's', now(), ";
  for (const auto& [ref, message] : {std::pair{"999999)", "caliper.texts has no text 999999 (the user IRI)"},
                                     std::pair{"NULL)", "event_rows_user_check"}}) {
    try {
      pg_test_env::query(url_, insert + ref);
      ADD_FAILURE() << ref;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.event_rows"), "0");
}

// caliper.text_keys marks a text resolved, but rewrites its row at most hourly: caliper.write_events
// asks for its texts with every batch.
TEST_F(text_keys_pgtest, text_keys_rewrites_a_text_at_most_hourly) {
  const std::string ask = "SELECT string_agg(value, ',' ORDER BY value) FROM caliper.text_keys(ARRAY['x', NULL, 'x', 'y'])";
  const std::string version = "SELECT string_agg(xmin::text, ',' ORDER BY value) FROM caliper.texts";
  EXPECT_EQ(pg_test_env::scalar(url_, ask), "x,y");
  const std::string first = pg_test_env::scalar(url_, version);
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(value, ',' ORDER BY value) FROM caliper.text_keys(ARRAY['y', 'x'])"), "x,y");
  EXPECT_EQ(pg_test_env::scalar(url_, version), first) << "found within the hour: not rewritten";
  pg_test_env::query(url_, "UPDATE caliper.texts SET resolved_at = now() - interval '61 minutes' WHERE value = 'x'");
  pg_test_env::query(url_, "SELECT * FROM caliper.text_keys(ARRAY['x', 'y'])");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(value, ',' ORDER BY value) FROM caliper.texts WHERE resolved_at > now() - interval '1 minute'"),
            "x,y");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.texts"), "2");
}

// A text resolved within the hour is neither rewritten nor locked: a transaction that asked for
// it and is still open (caliper.write_events in a reprocess, a slow batch) holds nobody up.
TEST_F(text_keys_pgtest, asking_for_a_known_text_waits_for_nobody) {
  pg_test_env::query(url_, "SELECT * FROM caliper.text_keys(ARRAY['busy'])");
  auto open = pg::connection::connect(url_);
  ASSERT_TRUE(open.ok()) << open.error_message();
  ASSERT_FALSE(open.check(open.exec("BEGIN; SELECT * FROM caliper.text_keys(ARRAY['busy'])"), PGRES_TUPLES_OK));
  EXPECT_EQ(pg_test_env::scalar(url_, "SET lock_timeout = '1s'; SELECT count(*) FROM caliper.text_keys(ARRAY['busy'])"), "1");
  ASSERT_FALSE(open.check(open.exec("COMMIT"), PGRES_COMMAND_OK));
}

// A key with no text (never made by the server: only a deleted text could do it) is not read
// back as a bare tail: the sessions trigger refuses the row rather than file it under a wrong
// session.
TEST_F(text_keys_pgtest, a_prefix_key_without_its_text_is_refused_not_misread) {
  try {
    pg_test_env::query(url_, "INSERT INTO caliper.event_rows (event_id, source, action, event_time, user_id, "
                             "session_tail, session_prefix_ref, sensor, received_at) VALUES "
                             "(gen_random_uuid(), 'src', 'LoggedIn', now(), 'u', 'B', 999999, 's', now())");
    ADD_FAILURE() << "a row whose session IRI cannot be read must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("caliper.texts has no text 999999 (the session IRI's prefix)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT count(*) FROM caliper.event_rows"), "0");
}

// caliper.prune_texts deletes a text only when no row uses it and no writer asked for it in
// the last min_idle; a writer that meets the text again adds it again.
TEST_F(text_keys_pgtest, prune_deletes_only_texts_unused_and_not_asked_for) {
  auto conn = connect(url_);
  write(conn, 1, 2, "kept: used");
  write(conn, 3, 2, "gone: unused and idle");
  write(conn, 5, 2, "kept: unused but asked for lately");
  pg_test_env::query(url_, "DELETE FROM caliper.event_rows WHERE user_agent_ref IN "
                           "(SELECT id FROM caliper.texts WHERE value LIKE '%unused%')");
  // Their sessions too (through the view: sql/013 deletes the rows behind it), so that their
  // users are used by nothing.
  EXPECT_EQ(pg_test_env::query(url_, "DELETE FROM caliper.sessions WHERE user_id NOT IN "
                                     "(SELECT user_id FROM caliper.session_events) RETURNING user_id").size(),
            4U);
  pg_test_env::query(url_, "UPDATE caliper.texts SET resolved_at = now() - interval '8 days' "
                           "WHERE value NOT LIKE '%lately'");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT caliper.prune_texts()"), "5") << "the agent and the users of 3-6";
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(value, ', ' ORDER BY value) FROM caliper.texts"),
            "https://lms.example.edu/sensor, https://lms.example.edu/sessions/, https://lms.example.edu/users/1, "
            "https://lms.example.edu/users/2, kept: unused but asked for lately, kept: used");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT caliper.prune_texts(interval '1 day')"), "0");
  try {
    pg_test_env::query(url_, "SELECT caliper.prune_texts(interval '23 hours')");
    ADD_FAILURE() << "a min_idle under a day must be refused";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("min_idle must be at least 1 day"), std::string::npos) << e.what();
  }
  write(connect(url_), 7, 1, "gone: unused and idle");
  EXPECT_EQ(pg_test_env::scalar(url_, "SELECT string_agg(user_agent, ', ' ORDER BY event_id) FROM caliper.session_events"),
            "kept: used, kept: used, gone: unused and idle");
}

INSTANTIATE_TEST_SUITE_P(all, batch_statement_pgtest, ::testing::ValuesIn(statements),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace caliper_sessiond::store

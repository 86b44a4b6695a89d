#pragma once
/// Helpers for the analytics pg tests: a migrated database, and events written with the
/// writer's statement shape (one INSERT ... ON CONFLICT DO NOTHING per batch).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "caliper_sessiond/store/migrations.hpp"
#include "pg_test_env.hpp"

namespace caliper_sessiond::analytics_testing {

using caliper_sessiond::testing::pg_test_env;

/// One event, as the columns that matter to sessions; the rest are filled in.
struct event {
  std::string id;  ///< uuid
  std::string action;
  std::string time;  ///< timestamptz literal
  std::string user;
  std::string session;  ///< "" for NULL
  std::string external_id = "";
  std::string source = "learn-test";
};

inline std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

inline std::string nullable(const std::string& s) { return s.empty() ? "NULL" : quote(s); }

/// One statement for the batch, as the writer sends it (caliper.write_events, one array per
/// column), answering the number of rows inserted.
inline std::string insert_batch_sql(const std::vector<event>& batch) {
  std::string ids, sources, actions, times, users, external_ids, sessions, nulls, sensors, received;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const event& e = batch[i];
    const char* sep = i ? ", " : "";
    ids += sep + quote(e.id);
    sources += sep + quote(e.source);
    actions += sep + quote(e.action);
    times += sep + quote(e.time);
    users += sep + quote(e.user);
    external_ids += sep + nullable(e.external_id);
    sessions += sep + nullable(e.session);
    nulls += sep + std::string("NULL");
    sensors += sep + std::string("'sensor'");
    received += sep + std::string("now()");
  }
  const auto array = [](const std::string& items, const char* type) {
    return "ARRAY[" + items + "]::" + type + "[]";
  };
  return "SELECT count(*) FROM caliper.write_events(" + array(ids, "uuid") + ", " + array(sources, "text") + ", " +
         array(actions, "caliper.session_action") + ", " + array(times, "timestamptz") + ", " + array(users, "text") +
         ", " + array(users, "text") + ", " + array(nulls, "text") + ", " + array(external_ids, "text") + ", " +
         array(sessions, "text") + ", " + array(nulls, "text") + ", " + array(nulls, "text") + ", " +
         array(nulls, "inet") + ", " + array(nulls, "text") + ", " + array(sensors, "text") + ", " +
         array(received, "timestamptz") + ", '{}', '{}', '{}', '{}')";
}

/// Inserts the batch with one statement, as the writer does; returns the number of rows inserted.
inline std::string insert_batch(const std::string& url, const std::vector<event>& batch) {
  return pg_test_env::scalar(url, insert_batch_sql(batch));
}

/// A fresh database with every migration applied.
inline std::string migrated_database(const pg_test_env& env, const std::string& prefix) {
  const std::string url = env.create_database(prefix);
  const auto m = store::migrate(url);
  if (!m.ok) ADD_FAILURE() << m.error;
  return url;
}

/// The rows of `sql`, one string per row with fields joined by '|'.
inline std::vector<std::string> rows(const std::string& url, const std::string& sql) {
  std::vector<std::string> out;
  for (const auto& row : pg_test_env::query(url, sql)) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) line += (i ? "|" : "") + row[i];
    out.push_back(line);
  }
  return out;
}

}  // namespace caliper_sessiond::analytics_testing

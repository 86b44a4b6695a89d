#include "caliper_sessiond/store/erasure.hpp"

#include <fmt/format.h>

#include <array>
#include <charconv>

#include "pg_connection.hpp"

namespace caliper_sessiond::store {
namespace {

// A concurrent batch of the server may hold a session row: wait for it, not forever.
constexpr const char* begin_sql = "BEGIN; SET LOCAL lock_timeout = '30s'";

// $1: the id as given. `people`: the user IRIs it designates, so that the person's events
// that carry no LMS or external id go too. Rejects: the raw JSON holds one of those ids as a
// whole JSON string ("...", also with / written \/), matched by LIKE with its wildcards
// escaped: a substring match would hit longer ids (S42 in S420); a jsonb search would skip
// raws cut short at the bound, which are not JSON. Deleting from caliper.event_rows (the rows
// of the view caliper.session_events) reaches every partition; the sessions trigger fires on
// INSERT only, so nothing rebuilds them. A row holds the user IRI as text, or since sql/012 as
// a key into caliper.texts (`keys`: those of the person's IRIs); the keys are recorded in
// caliper.texts_forget_due, and caliper.forget_texts deletes their texts once unused and idle.
// The sessions are rows of caliper.session_rows since sql/013 (the user and the session IRI's
// prefix as keys): the person's by their keys or external id, and those their events were in.
// Events of other users whose actor is the person (an administrator acting for a student) stay,
// with the actor masked (sql/012). Only IRIs that were the user of a deleted event count as the
// person's there: a TimedOut's actor is the LMS, whose IRI given by mistake would otherwise mask
// every TimedOut event.
constexpr const char* forget_sql = R"sql(
WITH people AS (
  SELECT $1::text AS id
  UNION
  SELECT CASE WHEN e.user_ref IS NULL THEN e.user_id
              ELSE (SELECT t.value FROM caliper.texts AS t WHERE t.id = e.user_ref) END
  FROM caliper.event_rows AS e
  WHERE e.user_lms_id = $1 OR e.user_external_id = $1
  UNION
  SELECT t.value FROM caliper.session_rows AS s JOIN caliper.texts AS t ON t.id = s.user_ref
  WHERE s.user_external_id = $1
), keys AS (
  SELECT t.id FROM caliper.texts AS t
  WHERE t.digest IN (SELECT caliper.text_digest(id) FROM people WHERE id IS NOT NULL)
), gone_events AS (
  DELETE FROM caliper.event_rows AS e
  WHERE e.user_id IN (SELECT id FROM people) OR e.user_ref IN (SELECT id FROM keys)
     OR e.user_lms_id = $1 OR e.user_external_id = $1
  -- The user as caliper.session_events shows it (the writer stores it as a key since sql/012),
  -- and the session's key in caliper.session_rows (sql/013): the writer's rows hold it (a prefix
  -- key and a tail since sql/011), the others the IRI.
  RETURNING e.source, e.session_id, e.session_prefix_ref, e.session_tail,
            CASE WHEN e.user_ref IS NULL THEN e.user_id
                 ELSE (SELECT t.value FROM caliper.texts AS t WHERE t.id = e.user_ref) END AS user_id
), gone_session_keys AS (
  SELECT g.source, coalesce(g.session_prefix_ref, 0) AS prefix_ref, g.session_tail AS tail
  FROM gone_events AS g WHERE g.session_tail IS NOT NULL
  UNION
  SELECT g.source, k.prefix_ref, k.tail
  FROM gone_events AS g CROSS JOIN LATERAL caliper.session_key(g.session_id) AS k
  WHERE g.session_tail IS NULL AND g.session_id IS NOT NULL
), gone_sessions AS (
  DELETE FROM caliper.session_rows AS s
  WHERE s.user_ref IN (SELECT id FROM keys) OR s.user_external_id = $1
     OR (s.session_prefix_ref, s.session_tail, s.source) IN (SELECT prefix_ref, tail, source FROM gone_session_keys)
  RETURNING 1
), masked_actors AS (
  UPDATE caliper.event_rows AS e SET actor_id = 'urn:caliper-sessiond:erased', actor_ref = NULL
  WHERE (e.actor_id IN (SELECT g.user_id FROM gone_events AS g)
         OR e.actor_ref IN (SELECT t.id FROM caliper.texts AS t
                            WHERE t.digest IN (SELECT caliper.text_digest(g.user_id) FROM gone_events AS g)))
    -- Not the rows gone_events deletes: one statement must not change a row twice.
    AND (e.user_id IN (SELECT id FROM people) OR e.user_ref IN (SELECT id FROM keys)
         OR e.user_lms_id = $1 OR e.user_external_id = $1) IS NOT TRUE
  RETURNING 1
), owed_texts AS (
  INSERT INTO caliper.texts_forget_due (id) SELECT id FROM keys ON CONFLICT DO NOTHING
), patterns AS (
  SELECT '%' || replace(replace(replace(q, '\', '\\'), '%', '\%'), '_', '\_') || '%' AS p
  FROM (SELECT to_json(id)::text AS q FROM people
        UNION SELECT replace(to_json(id)::text, '/', '\/') FROM people) AS quoted
), gone_rejects AS (
  DELETE FROM caliper.rejected_events AS r
  WHERE r.raw LIKE ANY (ARRAY(SELECT p FROM patterns))
  RETURNING 1
)
SELECT (SELECT count(DISTINCT user_id) FROM gone_events),
       (SELECT count(*) FROM gone_events),
       (SELECT count(*) FROM gone_sessions),
       (SELECT count(*) FROM gone_rejects),
       (SELECT count(*) FROM masked_actors)
)sql";

// After the erasure's commit, in a transaction of its own (it reads every event row): the
// person's texts that no row uses any more and no writer may still hold (sql/012). What it
// leaves, or a failure, stays owed in caliper.texts_forget_due, for maintenance.
constexpr const char* forget_texts_sql = "SET lock_timeout = '30s'; SELECT caliper.forget_texts()";

constexpr const char* record_sql = R"sql(
INSERT INTO caliper.erasures (user_hash, users, events, sessions, rejects, actors_masked)
VALUES (caliper.erasure_hash($1::text), $2::bigint, $3::bigint, $4::bigint, $5::bigint, $6::bigint)
)sql";

std::string describe(const pg::error& e) {
  return e.sqlstate.empty() ? e.message : fmt::format("{} (SQLSTATE {})", e.message, e.sqlstate);
}

std::uint64_t as_count(std::string_view v) {
  std::uint64_t n = 0;
  std::from_chars(v.data(), v.data() + v.size(), n);
  return n;
}

}  // namespace

erasure_result forget_user(const std::string& url, const std::string& user, bool dry_run) {
  erasure_result res;
  const pg::connection conn = pg::connection::connect(url);
  if (!conn.ok()) {
    res.error = fmt::format("cannot connect to {}: {}", pg::redact_conninfo(url), conn.error_message());
    return res;
  }
  if (auto err = conn.check(conn.exec(begin_sql), PGRES_COMMAND_OK)) {
    res.error = describe(*err);
    return res;
  }
  const std::array<const char*, 1> id{user.c_str()};
  const pg::result counted = conn.exec_params(forget_sql, id, {}, {}, false);
  if (auto err = conn.check(counted, PGRES_TUPLES_OK)) {
    conn.exec("ROLLBACK");
    res.error = describe(*err);
    return res;
  }
  erasure_counts& c = res.counts;
  c.users = as_count(counted.value(0, 0));
  c.events = as_count(counted.value(0, 1));
  c.sessions = as_count(counted.value(0, 2));
  c.rejects = as_count(counted.value(0, 3));
  c.actors_masked = as_count(counted.value(0, 4));
  if (!dry_run) {
    const std::array<std::string, 5> n{std::to_string(c.users), std::to_string(c.events), std::to_string(c.sessions),
                                       std::to_string(c.rejects), std::to_string(c.actors_masked)};
    const std::array<const char*, 6> values{user.c_str(), n[0].c_str(), n[1].c_str(), n[2].c_str(), n[3].c_str(),
                                            n[4].c_str()};
    if (auto err = conn.check(conn.exec_params(record_sql, values, {}, {}, false), PGRES_COMMAND_OK)) {
      conn.exec("ROLLBACK");
      res.error = describe(*err);
      return res;
    }
  }
  if (auto err = conn.check(conn.exec(dry_run ? "ROLLBACK" : "COMMIT"), PGRES_COMMAND_OK)) {
    res.error = describe(*err);
    return res;
  }
  res.ok = true;
  if (!dry_run) {
    const pg::result r = conn.exec(forget_texts_sql);
    if (auto err = conn.check(r, PGRES_TUPLES_OK))
      res.texts_note = fmt::format("the person's IRIs stay owed in caliper.texts_forget_due for maintenance: {}",
                                   describe(*err));
    else
      res.texts_deleted = as_count(r.value(0, 0));
  }
  return res;
}

}  // namespace caliper_sessiond::store

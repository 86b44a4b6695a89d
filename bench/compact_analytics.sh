#!/usr/bin/env bash
# Issue 12 item 3, measured before it is built: would the analysts' queries stay correct and as
# fast if caliper.session_events and caliper.sessions became views over a compact layout?
#
# On a database loaded by bench/analytics.sh (PHASES="load sizes" is enough), this
#   1. builds schema cx: the compact layout of bench/compact_storage.sh (long repeated values in
#      a dictionary of integer keys; events of integers, partitioned by month with the same
#      primary key and BRIN index; sessions keyed by a bigint with the IRI's prefix in the
#      dictionary), filled from caliper.*;
#   2. defines cx.session_events and cx.sessions as views with today's columns, and the four
#      analyst views over them, with the definitions of sql/005;
#   3. checks that both views hold the same rows as today's tables (count and an
#      order-independent checksum of every column);
#   4. prints the sizes, then times the ten queries of sql/README.md and the four views (whole
#      and one day) on both, RUNS runs each, medians in ms: psql started, every row sent to it.
#      (Not count(*) around the query: that lets today's layout answer from an index alone.)
#
# usage: bench/compact_analytics.sh DATABASE_URL      (RUNS=3, PHASES="build check sizes queries";
#        then PHASES="inline check sizes queries" for the variant with the users inline, or
#        PHASES="userdim check sizes queries" for the one with a users dimension, below)
# Takes ~15 min for 2M events on 2 cores (the build, then the queries); the build replaces cx.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${1:?usage: bench/compact_analytics.sh DATABASE_URL}
runs=${RUNS:-3}
phases=" ${PHASES:-build check sizes queries} "
q() { PGOPTIONS="-c TimeZone=UTC -c work_mem=64MB" psql "$url" -X -v ON_ERROR_STOP=1 -qAt "$@"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
say() { printf '%s\n' "$*"; }
# The SQL on the compact layout: the same text with caliper's relations replaced by cx's views.
to_cx() { sed -E 's/caliper\.(session_events|sessions|daily_active_users|logins_by_hour|concurrent_sessions|session_end_reasons)\b/cx.\1/g'; }

# Analyst views of sql/005 (names as arguments), defined again over the compact views.
cx_views() {
  local v def
  for v in "$@"; do
    def=$(q -c "SELECT pg_get_viewdef('caliper.$v'::regclass)")
    q -c "CREATE VIEW cx.$v AS $(to_cx <<<"$def")"
  done
}

events=$(q -c "SELECT count(*) FROM caliper.session_events")
[[ $events -gt 0 ]] || { echo "load the database with bench/analytics.sh first" >&2; exit 1; }
say "compact analytics: $events events, $(q -c 'SELECT count(*) FROM caliper.sessions') sessions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

# --- 1-2. the compact layout and its views ----------------------------------------------------
if [[ $phases == *" build "* ]]; then
t0=$(now_ms)
q <<'SQL'
SET work_mem = '256MB';
DROP SCHEMA IF EXISTS cx CASCADE;
CREATE SCHEMA cx;
CREATE TABLE cx.texts (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, value text NOT NULL UNIQUE);
CREATE TABLE cx.sources (id smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE);
INSERT INTO cx.sources (name) SELECT DISTINCT source FROM caliper.session_events ORDER BY 1;
INSERT INTO cx.texts (value)
  SELECT DISTINCT v FROM caliper.session_events,
    LATERAL (VALUES (actor_id), (user_id), (user_lms_id), (user_external_id), (user_agent),
                    (ed_app_id), (sensor), (substring(session_id from '^(.*/)[^/]*$'))) AS x(v)
  WHERE v IS NOT NULL;

CREATE TABLE cx.session_rows (
  id               bigint      PRIMARY KEY,  -- the writer's 64-bit hash of (source, IRI)
  started_at       timestamptz,
  ended_at         timestamptz,
  first_event_at   timestamptz NOT NULL,
  last_event_at    timestamptz NOT NULL,
  user_id          integer     NOT NULL,
  user_external_id integer,
  source           smallint    NOT NULL,
  end_reason       "char"      NOT NULL,  -- o open, L LoggedOut, T TimedOut
  session_prefix   integer,               -- the IRI up to its last '/', in the dictionary
  session_tail     text        NOT NULL,  -- the rest: the session's own part
  session_name     text
) WITH (fillfactor = 50);
-- The session's name from its events (the same on each of them in Learn: the hex of its IRI).
INSERT INTO cx.session_rows
SELECT hashtextextended(so.id || ' ' || s.session_id, 0), s.started_at, s.ended_at, s.first_event_at,
       s.last_event_at, u.id, x.id, so.id,
       CASE s.end_reason WHEN 'LoggedOut' THEN 'L' WHEN 'TimedOut' THEN 'T' ELSE 'o' END,
       p.id, substring(s.session_id from '[^/]*$'), n.session_name
FROM caliper.sessions AS s
JOIN cx.sources AS so ON so.name = s.source
JOIN cx.texts AS u ON u.value = s.user_id
LEFT JOIN cx.texts AS x ON x.value = s.user_external_id
LEFT JOIN cx.texts AS p ON p.value = substring(s.session_id from '^(.*/)[^/]*$')
LEFT JOIN (SELECT DISTINCT ON (source, session_id) source, session_id, session_name
           FROM caliper.session_events WHERE session_id IS NOT NULL
           ORDER BY source, session_id, session_name NULLS LAST) AS n
  ON n.source = s.source AND n.session_id = s.session_id;
CREATE INDEX session_rows_started_at_idx ON cx.session_rows (started_at);
CREATE INDEX session_rows_user_id_idx ON cx.session_rows (user_id);

\i bench/compact_events.sql
CREATE INDEX events_event_time_brin ON cx.events USING brin (event_time);
DO $do$
DECLARE m timestamptz;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           FROM caliper.session_events LOOP
    EXECUTE format('CREATE TABLE cx.%I PARTITION OF cx.events FOR VALUES FROM (%L) TO (%L)',
                   to_char(m AT TIME ZONE 'UTC', '"events_y"YYYY"m"MM'), m, m + interval '1 month');
  END LOOP;
END
$do$;
INSERT INTO cx.events
SELECT e.event_time, e.received_at,
       CASE WHEN e.session_id IS NOT NULL THEN hashtextextended(so.id || ' ' || e.session_id, 0) END,
       e.event_id, a.id, u.id, l.id, x.id, ua.id, ed.id, se.id, so.id, e.action, e.ip_address
FROM caliper.session_events AS e
JOIN cx.sources AS so ON so.name = e.source
JOIN cx.texts AS a ON a.value = e.actor_id
JOIN cx.texts AS u ON u.value = e.user_id
LEFT JOIN cx.texts AS l ON l.value = e.user_lms_id
LEFT JOIN cx.texts AS x ON x.value = e.user_external_id
LEFT JOIN cx.texts AS ua ON ua.value = e.user_agent
LEFT JOIN cx.texts AS ed ON ed.value = e.ed_app_id
JOIN cx.texts AS se ON se.value = e.sensor
ORDER BY e.event_time;

-- Today's columns, as views. Every dictionary lookup is a LEFT JOIN on a unique key, so the
-- planner drops the ones a query does not use.
CREATE VIEW cx.sessions AS
SELECT so.name AS source, coalesce(p.value, '') || r.session_tail AS session_id, u.value AS user_id,
       x.value AS user_external_id, r.started_at, r.ended_at,
       CASE r.end_reason WHEN 'L' THEN 'LoggedOut' WHEN 'T' THEN 'TimedOut' ELSE 'open' END AS end_reason,
       r.ended_at - r.started_at AS duration, r.first_event_at, r.last_event_at
FROM cx.session_rows AS r
LEFT JOIN cx.sources AS so ON so.id = r.source
LEFT JOIN cx.texts AS u ON u.id = r.user_id
LEFT JOIN cx.texts AS x ON x.id = r.user_external_id
LEFT JOIN cx.texts AS p ON p.id = r.session_prefix;

CREATE VIEW cx.session_events AS
SELECT e.event_id, so.name AS source, e.action, e.event_time, a.value AS actor_id, u.value AS user_id,
       l.value AS user_lms_id, x.value AS user_external_id,
       coalesce(p.value, '') || r.session_tail AS session_id, r.session_name, ua.value AS user_agent,
       e.ip_address, ed.value AS ed_app_id, se.value AS sensor, e.received_at
FROM cx.events AS e
LEFT JOIN cx.sources AS so ON so.id = e.source
LEFT JOIN cx.texts AS a ON a.id = e.actor
LEFT JOIN cx.texts AS u ON u.id = e.user_id
LEFT JOIN cx.texts AS l ON l.id = e.user_lms_id
LEFT JOIN cx.texts AS x ON x.id = e.user_external_id
LEFT JOIN cx.session_rows AS r ON r.id = e.session
LEFT JOIN cx.texts AS p ON p.id = r.session_prefix
LEFT JOIN cx.texts AS ua ON ua.id = e.user_agent
LEFT JOIN cx.texts AS ed ON ed.id = e.ed_app
LEFT JOIN cx.texts AS se ON se.id = e.sensor;
SQL
cx_views daily_active_users logins_by_hour concurrent_sessions session_end_reasons
q -c "VACUUM ANALYZE cx.texts, cx.sources, cx.session_rows, cx.events"
say "built cx in $((($(now_ms) - t0) / 1000)) s"
fi

# --- a variant: PHASES="inline check sizes queries", after a build -----------------------------
# The sessions keep their user's IRI and external id as text (no dictionary lookup for the
# questions that group by user), and daily_active_users and logins_by_hour count the events'
# integer user keys (the dictionary is one to one, so the counts are the same).
if [[ $phases == *" inline "* ]]; then
t0=$(now_ms)
q <<'SQL'
SET work_mem = '256MB';
DROP VIEW cx.sessions CASCADE;
CREATE FUNCTION cx.text_of(id integer) RETURNS text LANGUAGE sql STABLE
  AS $f$ SELECT value FROM cx.texts WHERE texts.id = text_of.id $f$;
ALTER TABLE cx.session_rows ALTER COLUMN user_id TYPE text USING cx.text_of(user_id),
                            ALTER COLUMN user_external_id TYPE text USING cx.text_of(user_external_id);
CREATE VIEW cx.sessions AS
SELECT so.name AS source, coalesce(p.value, '') || r.session_tail AS session_id, r.user_id,
       r.user_external_id, r.started_at, r.ended_at,
       CASE r.end_reason WHEN 'L' THEN 'LoggedOut' WHEN 'T' THEN 'TimedOut' ELSE 'open' END AS end_reason,
       r.ended_at - r.started_at AS duration, r.first_event_at, r.last_event_at
FROM cx.session_rows AS r
LEFT JOIN cx.sources AS so ON so.id = r.source
LEFT JOIN cx.texts AS p ON p.id = r.session_prefix;
CREATE OR REPLACE VIEW cx.daily_active_users AS
SELECT event_time::date AS day,
       count(DISTINCT user_id) AS active_users,
       count(DISTINCT user_id) FILTER (WHERE action = 'LoggedIn') AS users_logged_in,
       count(*) FILTER (WHERE action = 'LoggedIn') AS logins
FROM cx.events
GROUP BY 1;
CREATE OR REPLACE VIEW cx.logins_by_hour AS
SELECT date_trunc('hour', event_time) AS hour, count(*) AS logins, count(DISTINCT user_id) AS users
FROM cx.events
WHERE action = 'LoggedIn'
GROUP BY 1;
SQL
cx_views concurrent_sessions session_end_reasons
q -c "VACUUM FULL cx.session_rows" -c "VACUUM ANALYZE cx.session_rows"
say "sessions with inline users in $((($(now_ms) - t0) / 1000)) s"
fi

# --- a variant: PHASES="userdim check sizes queries", after a build -----------------------------
# One dimension row per user as events name them: (IRI, LMS id, external id), so events and
# sessions keep one integer for the three, and a query that groups by user_id and
# user_external_id reads them from one small table whose statistics the planner can use (with
# the dictionary, it took every IRI for a group of its own and sorted on disk).
if [[ $phases == *" userdim "* ]]; then
t0=$(now_ms)
q <<'SQL'
SET work_mem = '256MB';
DROP VIEW IF EXISTS cx.session_events CASCADE;
DROP VIEW IF EXISTS cx.sessions CASCADE;
DROP TABLE IF EXISTS cx.users CASCADE;
CREATE TABLE cx.users (
  id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  iri         text NOT NULL,
  lms_id      text,
  external_id text,
  UNIQUE NULLS NOT DISTINCT (iri, lms_id, external_id)
);
INSERT INTO cx.users (iri, lms_id, external_id)
  SELECT DISTINCT user_id, user_lms_id, user_external_id FROM caliper.session_events ORDER BY 1, 2, 3;
-- A session's (IRI, external id) may come from two of its events: add the pairs no event had.
INSERT INTO cx.users (iri, lms_id, external_id)
  SELECT DISTINCT s.user_id, NULL::text, s.user_external_id FROM caliper.sessions AS s
  WHERE NOT EXISTS (SELECT FROM cx.users AS u
                    WHERE u.iri = s.user_id AND u.external_id IS NOT DISTINCT FROM s.user_external_id);
CREATE INDEX users_iri_idx ON cx.users (iri);
CREATE INDEX users_external_id_idx ON cx.users (external_id);

-- The sessions: one key for their user (any row with their IRI and external id).
CREATE TEMP TABLE session_user_map AS
  SELECT DISTINCT ON (tu.id, tx.id) tu.id AS uid, tx.id AS xid, u.id AS ref
  FROM cx.users AS u JOIN cx.texts AS tu ON tu.value = u.iri LEFT JOIN cx.texts AS tx ON tx.value = u.external_id
  ORDER BY tu.id, tx.id, u.lms_id NULLS FIRST;
ALTER TABLE cx.session_rows ADD COLUMN user_ref integer;
UPDATE cx.session_rows AS r SET user_ref = m.ref FROM session_user_map AS m
  WHERE m.uid = r.user_id AND m.xid IS NOT DISTINCT FROM r.user_external_id;
ALTER TABLE cx.session_rows ALTER COLUMN user_ref SET NOT NULL;
DROP INDEX cx.session_rows_user_id_idx;
ALTER TABLE cx.session_rows DROP COLUMN user_id, DROP COLUMN user_external_id;
CREATE INDEX session_rows_user_ref_idx ON cx.session_rows (user_ref);

-- The events: one key instead of three.
CREATE TEMP TABLE event_user_map AS
  SELECT u.id AS ref, tu.id AS uid, tl.id AS lid, tx.id AS xid
  FROM cx.users AS u JOIN cx.texts AS tu ON tu.value = u.iri
  LEFT JOIN cx.texts AS tl ON tl.value = u.lms_id LEFT JOIN cx.texts AS tx ON tx.value = u.external_id;
ALTER TABLE cx.events RENAME TO events_old;
ALTER INDEX cx.events_event_time_brin RENAME TO events_old_event_time_brin;
CREATE TABLE cx.events (
  event_time  timestamptz NOT NULL,
  received_at timestamptz NOT NULL,
  session     bigint,
  event_id    uuid        NOT NULL,
  actor       integer     NOT NULL,
  user_ref    integer     NOT NULL,
  user_agent  integer,
  ed_app      integer,
  sensor      integer     NOT NULL,
  source      smallint    NOT NULL,
  action      caliper.session_action NOT NULL,
  ip_address  inet,
  PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);
CREATE TABLE cx.events_u_default PARTITION OF cx.events DEFAULT;
CREATE INDEX events_u_event_time_brin ON cx.events USING brin (event_time);
DO $do$
DECLARE m timestamptz;
BEGIN
  FOR m IN SELECT DISTINCT date_trunc('month', event_time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           FROM caliper.session_events LOOP
    EXECUTE format('CREATE TABLE cx.%I PARTITION OF cx.events FOR VALUES FROM (%L) TO (%L)',
                   to_char(m AT TIME ZONE 'UTC', '"events_u_y"YYYY"m"MM'), m, m + interval '1 month');
  END LOOP;
END
$do$;
INSERT INTO cx.events
SELECT e.event_time, e.received_at, e.session, e.event_id, e.actor, m.ref, e.user_agent, e.ed_app,
       e.sensor, e.source, e.action, e.ip_address
FROM cx.events_old AS e
JOIN event_user_map AS m ON m.uid = e.user_id AND m.lid IS NOT DISTINCT FROM e.user_lms_id
                    AND m.xid IS NOT DISTINCT FROM e.user_external_id
ORDER BY e.event_time;
DROP TABLE cx.events_old;

CREATE VIEW cx.sessions AS
SELECT so.name AS source, coalesce(p.value, '') || r.session_tail AS session_id, u.iri AS user_id,
       u.external_id AS user_external_id, r.started_at, r.ended_at,
       CASE r.end_reason WHEN 'L' THEN 'LoggedOut' WHEN 'T' THEN 'TimedOut' ELSE 'open' END AS end_reason,
       r.ended_at - r.started_at AS duration, r.first_event_at, r.last_event_at
FROM cx.session_rows AS r
LEFT JOIN cx.sources AS so ON so.id = r.source
LEFT JOIN cx.users AS u ON u.id = r.user_ref
LEFT JOIN cx.texts AS p ON p.id = r.session_prefix;

CREATE VIEW cx.session_events AS
SELECT e.event_id, so.name AS source, e.action, e.event_time, a.value AS actor_id, u.iri AS user_id,
       u.lms_id AS user_lms_id, u.external_id AS user_external_id,
       coalesce(p.value, '') || r.session_tail AS session_id, r.session_name, ua.value AS user_agent,
       e.ip_address, ed.value AS ed_app_id, se.value AS sensor, e.received_at
FROM cx.events AS e
LEFT JOIN cx.sources AS so ON so.id = e.source
LEFT JOIN cx.texts AS a ON a.id = e.actor
LEFT JOIN cx.users AS u ON u.id = e.user_ref
LEFT JOIN cx.session_rows AS r ON r.id = e.session
LEFT JOIN cx.texts AS p ON p.id = r.session_prefix
LEFT JOIN cx.texts AS ua ON ua.id = e.user_agent
LEFT JOIN cx.texts AS ed ON ed.id = e.ed_app
LEFT JOIN cx.texts AS se ON se.id = e.sensor;
SQL
cx_views daily_active_users logins_by_hour concurrent_sessions session_end_reasons
q -c "VACUUM FULL cx.session_rows" -c "VACUUM ANALYZE cx.users, cx.session_rows, cx.events"
say "users dimension in $((($(now_ms) - t0) / 1000)) s"
fi

# --- 3. the same rows -------------------------------------------------------------------------
if [[ $phases == *" check "* ]]; then
  for rel in session_events sessions; do
    sum="SELECT count(*) || ' ' || sum(hashtext(t::text)::bigint) FROM %s AS t"
    # shellcheck disable=SC2059
    today=$(q -c "$(printf "$sum" "caliper.$rel")")
    # shellcheck disable=SC2059
    compact=$(q -c "$(printf "$sum" "cx.$rel")")
    if [[ $today == "$compact" ]]; then
      say "check: cx.$rel holds the same rows as caliper.$rel ($today)"
    else
      say "check FAILED: cx.$rel: $compact; caliper.$rel: $today"
      exit 1
    fi
  done
fi

# --- 4. sizes and timings ---------------------------------------------------------------------
if [[ $phases == *" sizes "* ]]; then
  q -F ' ' <<SQL | while read -r what bytes per; do say "size: $what $bytes bytes, $per bytes per event"; done
WITH rels AS (
  SELECT 'today' AS layout, c.oid FROM pg_class AS c
  WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'caliper.session_events'::regclass)
     OR c.oid = 'caliper.sessions'::regclass
  UNION ALL
  SELECT 'compact', c.oid FROM pg_class AS c
  WHERE c.oid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'cx.events'::regclass)
     OR c.oid IN ('cx.session_rows'::regclass, 'cx.texts'::regclass, 'cx.sources'::regclass)
     OR c.oid = to_regclass('cx.users')
)
SELECT layout, sum(pg_total_relation_size(oid)), round(sum(pg_total_relation_size(oid)) / $events)
FROM rels GROUP BY layout ORDER BY layout DESC;
SQL
fi

[[ $phases == *" queries "* ]] || exit 0
day=$(q -c "SELECT (timestamptz '2026-12-01 00:00+00' + interval '45 days')::date")
timed() {  # $1 label, $2 SQL with caliper.; prints the medians on today's and the compact layout
  local label=$1 sql=$2 schema line=""
  for schema in caliper cx; do
    local times=() rows s text=$sql
    [[ $schema == cx ]] && text=$(to_cx <<<"$sql")  # before the clock starts
    for ((i = 0; i < runs; ++i)); do
      s=$(now_ms)
      rows=$(q -c "$text" | wc -l)  # every row to the client, as an analyst gets them
      times+=($(($(now_ms) - s)))
    done
    line+=" | $rows rows, $(printf '%s\n' "${times[@]}" | median) ms (${times[*]})"
  done
  say "| $label$line |"
}
say ""
say "| query (medians of $runs, ms) | today | compact |"
say "| --- | --- | --- |"
# The ten queries of sql/README.md, as written there.
n=0
while IFS= read -r -d '' sql; do
  n=$((n + 1))
  timed "sql/README.md query $n" "$sql"
done < <(python3 - <<'PY'
import re, sys
text = open("sql/README.md").read()
for m in re.finditer(r"```sql\n(.*?)```", text, re.S):
    sys.stdout.write(m.group(1).strip().rstrip(";") + "\0")
PY
)
while IFS='|' read -r name sql; do
  timed "$name" "$sql"
done <<SQL
daily_active_users, all days|SELECT * FROM caliper.daily_active_users
daily_active_users, one day|SELECT * FROM caliper.daily_active_users WHERE day = '$day'
logins_by_hour, all hours|SELECT * FROM caliper.logins_by_hour
concurrent_sessions, all hours|SELECT * FROM caliper.concurrent_sessions
session_end_reasons, all days|SELECT * FROM caliper.session_end_reasons
sessions that started on $day|SELECT * FROM caliper.sessions WHERE started_at >= '$day 00:00+00' AND started_at < '$day 00:00+00'::timestamptz + interval '1 day'
events of $day|SELECT * FROM caliper.session_events WHERE event_time >= '$day 00:00+00' AND event_time < '$day 00:00+00'::timestamptz + interval '1 day'
SQL

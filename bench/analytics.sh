#!/usr/bin/env bash
# The measurements behind caliper.sessions (issue 7), by hand, not in the test suite:
#   1. loads EVENTS SessionEvents (default 10 million; Learn-shaped, ~6 months, 20,000 users)
#      with the sessions trigger off, then builds caliper.sessions with the backfill (004);
#   2. sizes: bytes per million events (table + indexes), and of caliper.sessions;
#   3. the two analyst questions ("sessions that started on a given day", "one user's sessions
#      this month") on the table caliper.sessions and on bench.sessions_view, the same rules
#      as a view over caliper.session_events: RUNS runs each, the median, plus EXPLAIN ANALYZE;
#   4. the trigger's cost on the writer: INSERT_ROWS new events written with the writer's
#      statement shape (prepared INSERT ... ON CONFLICT DO NOTHING RETURNING, one transaction
#      per batch) in batches of 1000 and of 10, with the trigger on and off, alternating.
#
# usage: scripts/pg-cluster init /tmp/pg && scripts/pg-cluster start /tmp/pg
#        bench/analytics.sh "$(scripts/pg-cluster url /tmp/pg bench_analytics)"
#   EVENTS=10000000 RUNS=5 INSERT_ROWS=200000 SMALL_BATCH_ROWS=20000 (environment)
#   PHASES="load sizes questions trigger" (environment): a subset reruns those on a loaded database
#   LAST_MIGRATION=N (environment): the migrations up to N only (e.g. 12: caliper.sessions a
#   table, as before 013); those after 012 are applied after the load and timed
#   FORM=server (default: the rows as the server stores them since migration 012, long texts,
#   the user IRI and the session IRIs' prefix as keys into caliper.texts), FORM=server011 (the
#   same with the user IRI in the row, as from 011 to 012) or FORM=wide (every text in its row,
#   as before 009)
# The database is created when missing and must be empty for the load. Takes ~45 min for 10M
# on 2 busy cores (load 11 min, backfill 6 min, the view 5 min, the trigger runs 10 min).
# Output: a report on stdout; EXPLAIN ANALYZE plans in $OUT (default /tmp). Results of a
# 10M run and the decision they led to: bench/analytics-results.md.
set -euo pipefail
cd "$(dirname "$0")/.."

url=${1:?usage: bench/analytics.sh DATABASE_URL}
events=${EVENTS:-10000000}
runs=${RUNS:-5}
insert_rows=${INSERT_ROWS:-200000}
small_rows=${SMALL_BATCH_ROWS:-20000}
phases=" ${PHASES:-load sizes questions trigger} "
out=${OUT:-/tmp}

q() { psql "$url" -X -v ON_ERROR_STOP=1 -qAt "$@"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
say() { printf '%s\n' "$*"; }

# --- the database, migrated as caliper-sessiond migrate does ------------------------------
dbname=$(sed -E 's|^[a-z]+://[^/]*/([^?]*).*|\1|' <<<"$url")
admin_url=${url/\/$dbname\?//postgres?}
if [[ $(psql "$admin_url" -XAtc "SELECT count(*) FROM pg_database WHERE datname = '$dbname'") == 0 ]]; then
  psql "$admin_url" -Xqc "CREATE DATABASE $dbname"
fi
q -c "CREATE SCHEMA IF NOT EXISTS caliper;
      CREATE TABLE IF NOT EXISTS caliper.schema_migrations (version int PRIMARY KEY, name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now())"
# Applies the migrations not yet applied, up to version $1, each timed when $2 is "say".
apply_migrations() {
  local f name version s
  for f in sql/[0-9][0-9][0-9]_*.sql; do
    name=${f##*/}
    version=$((10#${name:0:3}))
    [[ $version -le $1 ]] || break
    [[ $(q -c "SELECT count(*) FROM caliper.schema_migrations WHERE version = $version") == 1 ]] && continue
    s=$(now_ms)
    { echo "SET lock_timeout = '5s';"; cat "$f"; echo ";INSERT INTO caliper.schema_migrations (version, name) VALUES ($version, '$name');"; } |
      q -1 -f - >/dev/null
    [[ ${2:-} != say ]] || say "migration $name applied in $((($(now_ms) - s) / 1000)) s"
  done
}
# LAST_MIGRATION (default: all) stops before the later ones. The load builds caliper.sessions
# with the backfill of 004, which writes the table of 003-012; the migrations after 012 are
# applied to the loaded database, and timed (013 moves the sessions into caliper.session_rows).
last_migration=${LAST_MIGRATION:-999}
if [[ $phases == *" load "* ]]; then
  apply_migrations $((last_migration < 12 ? last_migration : 12))
else
  apply_migrations "$last_migration" say
fi
if [[ $phases == *" load "* && $(q -c "SELECT count(*) FROM caliper.session_events") != 0 ]]; then
  echo "database not empty" >&2
  exit 1
fi

say "caliper analytics bench: $events events, $runs runs, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
say "PostgreSQL $(q -c 'SHOW server_version'), shared_buffers $(q -c 'SHOW shared_buffers')"

# --- 1. load ------------------------------------------------------------------------------
# Sessions n = 1..S over 180 days from 2026-12-01 (months with partitions), logins in the ten
# minutes before the class changes. 4% lose their login, 5% never end, a quarter time out,
# 3% log out twice: ~1.95 events per session.
sessions=$((events * 100 / 195))
q -c "SELECT caliper.ensure_partitions(8)" >/dev/null
if [[ $phases == *" load "* ]]; then
q -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"
t0=$(now_ms)
q <<SQL
CREATE SCHEMA IF NOT EXISTS bench;
CREATE OR REPLACE FUNCTION bench.h(key text) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS \$\$ SELECT ('x' || substr(md5(key), 1, 8))::bit(32)::bigint / 4294967296.0 \$\$;
CREATE OR REPLACE FUNCTION bench.events_of(first bigint, last bigint, per_day int)
RETURNS SETOF caliper.session_events LANGUAGE sql AS \$f\$
  WITH s AS (
    SELECT n, floor(bench.h(n || 'u') * 20000)::int AS u,
           timestamptz '2026-12-01 00:00+00' + make_interval(days => (n / per_day)::int)
             + make_interval(hours => (ARRAY[7, 9, 11, 13, 15, 19])[1 + floor(bench.h(n || 's') * 6)::int],
                             mins => 50, secs => floor(bench.h(n || 'm') * 540)) AS t_in,
           make_interval(secs => 60 + floor(bench.h(n || 'd') * 5940)) AS len
    FROM generate_series(first, last) AS n
  )
  SELECT md5(n || '/' || k)::uuid, 'learn-prod', a::caliper.session_action, t,
         CASE WHEN a = 'TimedOut' THEN 'https://learn.example.edu' ELSE usr END, usr,
         '_' || u || '_1', CASE WHEN a <> 'TimedOut' THEN 'S' || lpad(u::text, 6, '0') END,
         'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/0b3f9c9e-1a2b-4c5d-8e9f-0123456789ab/sessions/' || md5(n::text),
         md5(n::text),
         'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
         ('10.' || (u / 256 % 256) || '.' || (u % 256) || '.' || (n % 250 + 1))::inet,
         'https://learn.example.edu', '0b3f9c9e-1a2b-4c5d-8e9f-0123456789ab', t + interval '3 seconds'
  FROM s
  CROSS JOIN LATERAL (SELECT 'https://caliper-mapping.cloudbb.blackboard.com/v1/sites/0b3f9c9e-1a2b-4c5d-8e9f-0123456789ab/users/' || md5(u::text) AS usr) AS x
  CROSS JOIN LATERAL (VALUES
    (1, 'LoggedIn', t_in, n % 25 <> 0),
    (2, CASE WHEN n % 4 = 0 THEN 'TimedOut' ELSE 'LoggedOut' END, t_in + len, n % 20 <> 1),
    (3, 'LoggedOut', t_in + len + interval '17 seconds', n % 33 = 0 AND n % 4 <> 0 AND n % 20 <> 1)
  ) AS e(k, a, t, present)
  WHERE present
\$f\$;
SQL
# In slices of a million sessions, so that progress shows and no statement is huge.
per_day=$((sessions / 180 + 1))
for ((first = 1; first <= sessions; first += 1000000)); do
  last=$((first + 999999 > sessions ? sessions : first + 999999))
  if [[ ${FORM:-server} == wide ]]; then
    q -c "INSERT INTO caliper.event_rows SELECT * FROM bench.events_of($first, $last, $per_day)"
  else
    # As the server stores them since migration 011: the user agent, edApp, sensor, a non-user
    # actor and the session IRI's prefix as keys into caliper.texts, the IRI's tail in the row
    # and the session's name only when it is not the tail; since 012 the user IRI as a key too.
    users=user_ref user_key=u.id user_text=user_id
    [[ ${FORM:-server} == server011 ]] && users=user_id user_key=e.user_id user_text=NULL
    q <<SQL
INSERT INTO caliper.texts (digest, value)
SELECT caliper.text_digest(v), v FROM (SELECT DISTINCT unnest(ARRAY[CASE WHEN actor_id <> user_id THEN actor_id END,
                                                            $user_text, user_agent, ed_app_id, sensor,
                                                            substring(session_id FROM '^(.*/)')]) AS v
                                       FROM bench.events_of($first, $last, $per_day)) AS d
WHERE v IS NOT NULL ON CONFLICT (digest) DO NOTHING;
INSERT INTO caliper.event_rows (event_id, source, action, event_time, $users, user_lms_id, user_external_id,
  session_tail, session_name, ip_address, received_at, actor_ref, user_agent_ref, ed_app_ref, sensor_ref,
  session_prefix_ref, session_name_is_tail)
SELECT e.event_id, e.source, e.action, e.event_time, $user_key, e.user_lms_id, e.user_external_id, s.tail,
       CASE WHEN e.session_name IS DISTINCT FROM s.tail THEN e.session_name END, e.ip_address, e.received_at,
       a.id, ua.id, ed.id, se.id, sp.id, CASE WHEN e.session_id IS NOT NULL THEN e.session_name IS NOT DISTINCT FROM s.tail END
FROM ROWS FROM (bench.events_of($first, $last, $per_day)) WITH ORDINALITY AS e
CROSS JOIN LATERAL (SELECT substring(e.session_id FROM '[^/]*\$') AS tail) AS s
LEFT JOIN caliper.texts AS a ON a.value = e.actor_id AND e.actor_id <> e.user_id
LEFT JOIN caliper.texts AS u ON u.value = e.user_id
LEFT JOIN caliper.texts AS ua ON ua.value = e.user_agent
LEFT JOIN caliper.texts AS ed ON ed.value = e.ed_app_id
LEFT JOIN caliper.texts AS se ON se.value = e.sensor
LEFT JOIN caliper.texts AS sp ON sp.value = substring(e.session_id FROM '^(.*/)')
ORDER BY e.ordinality;  -- the generator's order, as FORM=wide stores them (nearly time order)
SQL
  fi
done
t1=$(now_ms)
q -c "ALTER TABLE caliper.event_rows ENABLE TRIGGER session_events_to_sessions"
q -c "SET work_mem = '256MB'" -f sql/004_sessions_backfill.sql >/dev/null
t2=$(now_ms)
q -c "VACUUM ANALYZE caliper.event_rows" -c "VACUUM ANALYZE caliper.sessions" -c "ANALYZE caliper.texts"
loaded=$(q -c "SELECT count(*) FROM caliper.session_events")
say ""
say "## load"
say "events loaded: $loaded in $(((t1 - t0) / 1000)) s (trigger off); sessions built by the 004 backfill: $(q -c 'SELECT count(*) FROM caliper.sessions') in $(((t2 - t1) / 1000)) s"
apply_migrations "$last_migration" say
fi
# The table behind caliper.sessions: caliper.session_rows since migration 013.
sessions_rel=$(q -c "SELECT coalesce(to_regclass('caliper.session_rows'), 'caliper.sessions'::regclass)")
q -c "VACUUM ANALYZE $sessions_rel" -c "ANALYZE caliper.texts"
loaded=$(q -c "SELECT count(*) FROM caliper.session_events")

# --- 2. sizes -----------------------------------------------------------------------------
if [[ $phases == *" sizes "* ]]; then
say ""
say "## sizes"
q -F ' ' <<SQL | while read -r what tbl idx total per_m; do say "$what: table $tbl, indexes $idx, total $total bytes; per million events $per_m"; done
WITH parts AS (SELECT inhrelid AS oid FROM pg_inherits WHERE inhparent = 'caliper.event_rows'::regclass),
ev AS (SELECT sum(pg_table_size(oid)) AS t, sum(pg_indexes_size(oid)) AS i FROM parts),
se AS (SELECT pg_table_size('$sessions_rel') AS t, pg_indexes_size('$sessions_rel') AS i)
SELECT 'session_events', t, i, t + i, pg_size_pretty(((t + i) * 1000000 / $loaded)::bigint) FROM ev
UNION ALL
SELECT 'sessions', t, i, t + i, pg_size_pretty(((t + i) * 1000000 / $loaded)::bigint) FROM se
UNION ALL
SELECT 'both', ev.t + se.t, ev.i + se.i, ev.t + ev.i + se.t + se.i,
       pg_size_pretty(((ev.t + ev.i + se.t + se.i) * 1000000 / $loaded)::bigint) FROM ev, se;
SQL
fi

# --- 3. the two questions: table vs view --------------------------------------------------
if [[ $phases == *" questions "* ]]; then
q <<'SQL'
-- The rules of the trigger (003), as a view over the events.
CREATE OR REPLACE VIEW bench.sessions_view AS
SELECT source, session_id,
       (array_agg(user_id ORDER BY action <> 'LoggedIn', event_time, user_id))[1] AS user_id,
       min(user_external_id) AS user_external_id,
       min(event_time) FILTER (WHERE action = 'LoggedIn') AS started_at,
       min(event_time) FILTER (WHERE action <> 'LoggedIn') AS ended_at,
       coalesce((array_agg(action::text ORDER BY event_time, action) FILTER (WHERE action <> 'LoggedIn'))[1],
                'open') AS end_reason,
       min(event_time) FILTER (WHERE action <> 'LoggedIn')
         - min(event_time) FILTER (WHERE action = 'LoggedIn') AS duration
FROM caliper.session_events
WHERE session_id IS NOT NULL
GROUP BY source, session_id;
SQL
day=$(q -c "SELECT (timestamptz '2026-12-01 00:00+00' + interval '45 days')::date")
user=$(q -c "SELECT user_id FROM caliper.sessions WHERE started_at >= '$day' LIMIT 1")
month_lo="date_trunc('month', timestamptz '$day')"
day_sql="SELECT * FROM %s WHERE started_at >= '$day 00:00+00' AND started_at < '$day 00:00+00'::timestamptz + interval '1 day'"
user_sql="SELECT * FROM %s WHERE user_id = '$user' AND started_at >= $month_lo AND started_at < $month_lo + interval '1 month'"
say ""
say "## the two questions (ms, median of $runs; the view: median of 3)"
say "day: $day; user: $user"
for rel in caliper.sessions bench.sessions_view; do
  n=$runs
  [[ $rel == bench.sessions_view ]] && n=3
  for question in day user; do
    tmpl=${question}_sql
    # shellcheck disable=SC2059
    sql=$(printf "${!tmpl}" "$rel")
    times=()
    for ((i = 0; i < n; ++i)); do
      s=$(now_ms)
      rows=$(q -c "SET work_mem = '64MB'" -c "$sql" | wc -l)  # every row to the client, not count(*)
      times+=($(($(now_ms) - s)))
    done
    plan=$out/analytics-$question-${rel#*.}.plan
    q -c "SET work_mem = '64MB'" -c "EXPLAIN (ANALYZE, BUFFERS) $sql" >"$plan"
    say "$rel, $question: $rows rows; runs ${times[*]} ms; median $(printf '%s\n' "${times[@]}" | median) ms; EXPLAIN ANALYZE: $(grep -E 'Execution Time' "$plan" | sed 's/ *Execution Time: //'); plan top: $(head -n 1 "$plan" | sed 's/  */ /g' | cut -c1-120)"
  done
done
fi

# --- 4. the trigger's cost on the writer --------------------------------------------------
[[ $phases == *" trigger "* ]] || exit 0
# New sessions in a month of their own (2027-07), shuffled as delivery does, in batches.
q <<SQL
DROP TABLE IF EXISTS bench.staging;
CREATE TABLE bench.staging AS
SELECT e.*, row_number() OVER (ORDER BY bench.h(e.event_id::text)) - 1 AS seq
FROM bench.events_of(1, $((insert_rows * 100 / 195)), 30000) AS e;
UPDATE bench.staging SET event_id = md5(event_id::text || 'staging')::uuid,
  event_time = event_time + interval '212 days', received_at = received_at + interval '212 days',
  session_id = session_id || '-staging';
CREATE INDEX ON bench.staging (seq);
ANALYZE bench.staging;
SQL
staged=$(q -c "SELECT count(*) FROM bench.staging")
run_inserts() {  # $1 batch size, $2 rows, $3 on|off; prints ms
  local size=$1 rows=$2 mode=$3 script=$out/analytics-insert.sql
  q -c "TRUNCATE caliper.session_events_y2027m07" -c "DELETE FROM $sessions_rel WHERE first_event_at >= '2027-07-01'" \
    -c "VACUUM $sessions_rel" -c "CHECKPOINT"
  if [[ $mode == off ]]; then q -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"; fi
  {
    echo "PREPARE ins(bigint, bigint) AS INSERT INTO caliper.event_rows SELECT event_id, source, action,"
    echo "  event_time, actor_id, user_id, user_lms_id, user_external_id, session_id, session_name, user_agent,"
    echo "  ip_address, ed_app_id, sensor, received_at FROM bench.staging WHERE seq >= \$1 AND seq < \$2"
    echo "  ON CONFLICT DO NOTHING RETURNING event_id, event_time;"
    for ((b = 0; b < rows; b += size)); do echo "EXECUTE ins($b, $((b + size)));"; done
  } >"$script"
  local s
  s=$(now_ms)
  q -f "$script" >/dev/null
  echo $(($(now_ms) - s))
  q -c "ALTER TABLE caliper.event_rows ENABLE TRIGGER session_events_to_sessions"
}
say ""
say "## the trigger's cost: $staged staged events, new sessions, writer's statement, one transaction per batch"
for spec in "1000 $((staged < insert_rows ? staged : insert_rows))" "10 $small_rows"; do
  read -r size rows <<<"$spec"
  on=() off=()
  for ((i = 0; i < 3; ++i)); do
    on+=($(run_inserts "$size" "$rows" on))
    off+=($(run_inserts "$size" "$rows" off))
  done
  mon=$(printf '%s\n' "${on[@]}" | median)
  moff=$(printf '%s\n' "${off[@]}" | median)
  say "batches of $size, $rows rows: trigger on ${on[*]} ms (median $mon), off ${off[*]} ms (median $moff); overhead $(((mon - moff) * 100 / moff))%; $((rows * 1000 / mon)) vs $((rows * 1000 / moff)) events/s"
done

#!/usr/bin/env bash
# The other way to give analysts caliper.sessions without a trigger: a view driven by the
# LoggedIn events, with two more indexes on caliper.session_events so that it can find a day's
# logins, a user's logins and each session's end. Run after bench/analytics.sh, on its
# database; it measures the two questions on that view, the indexes' bytes per million events,
# and what the indexes cost the writer (the same staged inserts, sessions trigger off), then
# drops what it built.
#
# usage: bench/analytics-indexed-view.sh "$(scripts/pg-cluster url /tmp/pg bench_analytics)"
#   RUNS=5 INSERT_ROWS=1000000 OUT=/tmp (environment)
set -euo pipefail
cd "$(dirname "$0")/.."

url=${1:?usage: bench/analytics-indexed-view.sh DATABASE_URL}
runs=${RUNS:-5}
insert_rows=${INSERT_ROWS:-1000000}
out=${OUT:-/tmp}

q() { psql "$url" -X -v ON_ERROR_STOP=1 -qAt "$@"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
say() { printf '%s\n' "$*"; }

loaded=$(q -c "SELECT count(*) FROM caliper.session_events")
say "## indexed view on $loaded events (load $(cut -d' ' -f1-3 /proc/loadavg))"
t0=$(now_ms)
q -c "SET maintenance_work_mem = '512MB'" \
  -c "CREATE INDEX IF NOT EXISTS bench_events_session_idx ON caliper.event_rows (source, session_id, event_time)" \
  -c "CREATE INDEX IF NOT EXISTS bench_events_user_idx ON caliper.event_rows (user_id, event_time)" \
  -c "ANALYZE caliper.session_events"
say "two indexes built in $((($(now_ms) - t0) / 1000)) s; their size: $(q -c "
  SELECT pg_size_pretty(sum(pg_relation_size(i.indexrelid))) || ', per million events ' ||
         pg_size_pretty((sum(pg_relation_size(i.indexrelid)) * 1000000 / $loaded)::bigint)
  FROM pg_index AS i JOIN pg_class AS c ON c.oid = i.indexrelid
  WHERE c.relname ~ '^session_events_.*(session_id_event_time|user_id_event_time)_idx$'")"

q <<'SQL'
-- The rules of the trigger (003), driven by the logins; the sessions whose LoggedIn is missing
-- come from their end event (their started_at is NULL, so a filter on it drops that branch).
CREATE OR REPLACE VIEW bench.sessions_indexed_view AS
SELECT l.source, l.session_id, l.user_id, l.user_external_id, l.event_time AS started_at,
       e.event_time AS ended_at, coalesce(e.action::text, 'open') AS end_reason,
       e.event_time - l.event_time AS duration
FROM caliper.session_events AS l
LEFT JOIN LATERAL (
  SELECT x.event_time, x.action FROM caliper.session_events AS x
  WHERE x.source = l.source AND x.session_id = l.session_id AND x.action <> 'LoggedIn'
  ORDER BY x.event_time, x.action LIMIT 1) AS e ON true
WHERE l.action = 'LoggedIn' AND l.session_id IS NOT NULL
  AND NOT EXISTS (SELECT FROM caliper.session_events AS y
                  WHERE y.source = l.source AND y.session_id = l.session_id AND y.action = 'LoggedIn'
                    AND (y.event_time, y.user_id) < (l.event_time, l.user_id))
UNION ALL
-- No DISTINCT ON here: it would stop a filter on started_at from reaching this branch (where
-- started_at is a NULL constant, so such a filter removes the branch at plan time).
SELECT x.source, x.session_id, x.user_id, x.user_external_id, NULL::timestamptz, x.event_time,
       x.action::text, NULL::interval
FROM caliper.session_events AS x
WHERE x.action <> 'LoggedIn' AND x.session_id IS NOT NULL
  AND NOT EXISTS (SELECT FROM caliper.session_events AS y
                  WHERE y.source = x.source AND y.session_id = x.session_id AND y.action = 'LoggedIn')
  AND NOT EXISTS (SELECT FROM caliper.session_events AS y
                  WHERE y.source = x.source AND y.session_id = x.session_id AND y.action <> 'LoggedIn'
                    AND (y.event_time, y.action, y.event_id) < (x.event_time, x.action, x.event_id));
SQL

day=$(q -c "SELECT (timestamptz '2026-12-01 00:00+00' + interval '45 days')::date")
user=$(q -c "SELECT user_id FROM caliper.sessions WHERE started_at >= '$day' ORDER BY started_at LIMIT 1")
month_lo="date_trunc('month', timestamptz '$day')"
rel=bench.sessions_indexed_view
declare -A sqls=(
  [day]="SELECT * FROM $rel WHERE started_at >= '$day 00:00+00' AND started_at < '$day 00:00+00'::timestamptz + interval '1 day'"
  [user]="SELECT * FROM $rel WHERE user_id = '$user' AND started_at >= $month_lo AND started_at < $month_lo + interval '1 month'"
)
for question in day user; do
  sql=${sqls[$question]}
  times=()
  for ((i = 0; i < runs; ++i)); do
    s=$(now_ms)
    rows=$(q -c "SELECT count(*) FROM ($sql) AS x")
    times+=($(($(now_ms) - s)))
  done
  plan=$out/analytics-$question-indexed_view.plan
  q -c "EXPLAIN (ANALYZE, BUFFERS) $sql" >"$plan"
  say "$rel, $question: $rows rows; runs ${times[*]} ms; median $(printf '%s\n' "${times[@]}" | median) ms; EXPLAIN ANALYZE: $(grep -E 'Execution Time' "$plan" | sed 's/ *Execution Time: //')"
done
say "same rows as caliper.sessions for the day: $(q -c "
  SELECT count(*) = 0 FROM ((SELECT source, session_id, user_id, started_at, ended_at, end_reason FROM $rel
                              WHERE started_at >= '$day' AND started_at < '$day'::date + 1
                              EXCEPT ALL
                              SELECT source, session_id, user_id, started_at, ended_at, end_reason FROM caliper.sessions
                              WHERE started_at >= '$day' AND started_at < '$day'::date + 1)) AS d")"

# What the two indexes cost the writer: the staged inserts of bench/analytics.sh, trigger off.
staged=$(q -c "SELECT count(*) FROM bench.staging")
rows=$((staged < insert_rows ? staged : insert_rows))
script=$out/analytics-insert-indexed.sql
{
  echo "PREPARE ins(bigint, bigint) AS INSERT INTO caliper.event_rows SELECT event_id, source, action,"
  echo "  event_time, actor_id, user_id, user_lms_id, user_external_id, session_id, session_name, user_agent,"
  echo "  ip_address, ed_app_id, sensor, received_at FROM bench.staging WHERE seq >= \$1 AND seq < \$2"
  echo "  ON CONFLICT DO NOTHING RETURNING event_id, event_time;"
  for ((b = 0; b < rows; b += 1000)); do echo "EXECUTE ins($b, $((b + 1000)));"; done
} >"$script"
times=()
for ((i = 0; i < 3; ++i)); do
  q -c "TRUNCATE caliper.session_events_y2027m07" -c "CHECKPOINT"
  q -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"
  s=$(now_ms)
  q -f "$script" >/dev/null
  times+=($(($(now_ms) - s)))
  q -c "ALTER TABLE caliper.event_rows ENABLE TRIGGER session_events_to_sessions"
done
m=$(printf '%s\n' "${times[@]}" | median)
say "batches of 1000, $rows rows, trigger off, with the two indexes: ${times[*]} ms (median $m); $((rows * 1000 / m)) events/s"
q -c "TRUNCATE caliper.session_events_y2027m07" \
  -c "DROP VIEW bench.sessions_indexed_view" \
  -c "DROP INDEX caliper.bench_events_session_idx" -c "DROP INDEX caliper.bench_events_user_idx"

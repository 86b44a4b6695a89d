#!/usr/bin/env bash
# The sessions trigger's cost, databases side by side (issue 12 item 3): the same staged rows
# inserted into each database in turn, ROUNDS times, from one connection per insert whose
# backend CPU is read from /proc; every round starts from empty tables. On a shared, noisy host
# only databases measured in the same minutes compare, so the rounds alternate.
#
#   CALIPER_COMPACT_KEEP=1 CALIPER_COMPACT_LAYOUTS="users012 users users_nosessions" bench/compact_storage.sh
#   bench/session_trigger_ab.sh /tmp/caliper-compact.XXXXXX/pg users012 users users_nosessions
#   ROWS=200000 (the first rows of the staging table, campus shape), BATCH=1000, ROUNDS=5
#
# A database named DB+plain is the same database, its rows inserted without ON CONFLICT DO
# NOTHING, as the writer's first try since it stopped using it for every batch.
#
# DB+floor, DB+once, DB+upsert and DB+checked keep the sessions without the trigger (below), on a
# database whose trigger is disabled:
#   bench/session_trigger_ab.sh CLUSTER users+plain users_nosessions+floor users_nosessions+plain
# In the last round, the sessions each one leaves (caliper.sessions as analysts read it, md5 of
# every column) must be the same as every other's that leaves any, or the script fails; it says
# how many it compared. ROWS must be a multiple of BATCH.
#
# The databases are compact_storage.sh's `users*` layouts: public.stage holds the rows with the
# keys the writer sends since 012. Prints per database the median backend CPU µs per event and
# the rounds, and each one's median against the last database's (the trigger's share when the
# last one has the trigger disabled).
set -euo pipefail
cd "$(dirname "$0")/.."

cluster=${1:?usage: bench/session_trigger_ab.sh CLUSTER_DIR DB...}
shift
(($# >= 2)) || { echo "name two databases or more" >&2; exit 2; }
rows=${ROWS:-200000} batch=${BATCH:-1000} rounds=${ROUNDS:-5}
((rows % batch == 0)) || { echo "ROWS ($rows) must be a multiple of BATCH ($batch)" >&2; exit 2; }
for db in "$@"; do
  case ${db#"${db%+*}"} in
    "" | +plain | +floor | +once | +upsert | +checked) ;;
    *) echo "$db: the mode after + is one of plain, floor, once, upsert, checked" >&2; exit 2 ;;
  esac
done
url() { scripts/pg-cluster url "$cluster" "$1"; }
q() { psql "$(url "$1")" -X -qAt -v ON_ERROR_STOP=1 "${@:2}"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The ways of keeping the sessions without the trigger, on a database whose trigger is disabled
# (users_nosessions). Each inserts the events as +plain does and keeps caliper.session_rows from
# the sessions' facts worked out ahead of time (public.session_stage, made here):
#   +floor    the least a writer could send: a plain INSERT of the batch's new sessions, then an
#             UPDATE by primary key of those that end in it;
#   +once     each session inserted once, whole, in the batch of its last event: what a fold whose
#             window held the whole session would write;
#   +upsert   what a writer that merged its batch in memory would send: one INSERT ... ON
#             CONFLICT DO UPDATE of the batch's facts, with the trigger's merge (sql/014);
#   +checked  the same, after the trigger's check that every key of the batch has its text.
# Campus shape only: a session is at most one LoggedIn and at most one end after it (checked).
floor_setup() {
  q "$1" <<SQL
DROP TABLE IF EXISTS public.session_stage;
CREATE UNLOGGED TABLE public.session_stage AS
SELECT session_prefix_ref AS p, session_tail AS t, source AS s,
       min(user_ref) AS user_ref, min(user_external_id) AS ext,
       min(event_time) FILTER (WHERE action = 'LoggedIn') AS login_at,
       min(event_time) FILTER (WHERE action <> 'LoggedIn') AS end_at,
       min(CASE action WHEN 'LoggedOut' THEN 'L' WHEN 'TimedOut' THEN 'T' END)::"char" AS reason,
       (min(n) FILTER (WHERE action = 'LoggedIn') - 1) / $batch AS login_b,
       (min(n) FILTER (WHERE action <> 'LoggedIn') - 1) / $batch AS end_b,
       min(n) AS first_n,
       count(*) FILTER (WHERE action = 'LoggedIn') AS logins,
       count(*) FILTER (WHERE action <> 'LoggedIn') AS ends
FROM public.stage WHERE n <= $rows GROUP BY 1, 2, 3;
CREATE INDEX ON public.session_stage (least(login_b, end_b));
CREATE INDEX ON public.session_stage (greatest(login_b, end_b));
CREATE INDEX ON public.session_stage (login_b);
CREATE INDEX ON public.session_stage (end_b);
ANALYZE public.session_stage;
SQL
  local bad
  bad=$(q "$1" -c "SELECT count(*) FROM public.session_stage WHERE end_b < login_b OR logins > 1 OR ends > 1")
  [[ $bad == 0 ]] || { echo "$1: $bad sessions are not one LoggedIn and then at most one end" >&2; exit 1; }
  [[ $(q "$1" -c "SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'caliper.event_rows'::regclass AND tgname = 'session_events_to_sessions'") == D ]] ||
    { echo "$1: its sessions trigger is not disabled, so it would keep the sessions too" >&2; exit 1; }
}
keeps_sessions() { [[ $1 == floor || $1 == once || $1 == upsert || $1 == checked ]]; }
session_rows_cols="session_prefix_ref, user_ref, first_event_at, last_event_at, started_at, ended_at, end_reason, source, session_tail, user_external_id"
# sql/014's merge of a batch's sessions with the table's, word for word (on one line).
merge=$(sed -n '/^  ON CONFLICT (session_prefix_ref, session_tail, source) DO UPDATE SET/,/^    last_event_at = greatest/p' sql/014_session_merge.sql | sed 's/ *--.*//' | tr -s ' \n' ' ')
[[ $merge == *"last_event_at = greatest(s.last_event_at, excluded.last_event_at);"* ]] ||
  { echo "sql/014_session_merge.sql: its ON CONFLICT clause was not found" >&2; exit 1; }
merge=${merge%;*}

cols="event_id, source, action, event_time, user_ref, user_lms_id, user_external_id, session_tail, session_name, ip_address, received_at, actor_ref, user_agent_ref, ed_app_ref, sensor_ref, session_prefix_ref, session_name_is_tail"
for mode in conflict plain floor once upsert checked; do
  conflict=""
  [[ $mode == conflict ]] && conflict="ON CONFLICT DO NOTHING "
  {
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv CALIPER_PID :pid"
    echo "\\! cat /proc/\$CALIPER_PID/stat > $work/cpu0"
    for ((lo = 0; lo < rows; lo += batch)); do
      b=$((lo / batch))
      keeps_sessions "$mode" && echo "BEGIN;"
      echo "INSERT INTO caliper.event_rows ($cols) SELECT $cols FROM public.stage WHERE n > $lo AND n <= $((lo + batch)) ORDER BY n ${conflict}RETURNING event_id, event_time \\g /dev/null"
      if [[ $mode == floor ]]; then
        echo "INSERT INTO caliper.session_rows ($session_rows_cols) SELECT p, user_ref, least(CASE WHEN login_b = $b THEN login_at END, CASE WHEN end_b = $b THEN end_at END), greatest(CASE WHEN login_b = $b THEN login_at END, CASE WHEN end_b = $b THEN end_at END), CASE WHEN login_b = $b THEN login_at END, CASE WHEN end_b = $b THEN end_at END, CASE WHEN end_b = $b THEN reason ELSE 'o' END, s, t, ext FROM public.session_stage WHERE least(login_b, end_b) = $b ORDER BY first_n;"
        echo "UPDATE caliper.session_rows AS r SET ended_at = x.end_at, end_reason = x.reason, first_event_at = least(r.first_event_at, x.end_at), last_event_at = greatest(r.last_event_at, x.end_at) FROM public.session_stage AS x WHERE x.end_b = $b AND x.login_b < $b AND r.session_prefix_ref = x.p AND r.session_tail = x.t AND r.source = x.s;"
      elif [[ $mode == once ]]; then
        echo "INSERT INTO caliper.session_rows ($session_rows_cols) SELECT p, user_ref, least(login_at, end_at), greatest(login_at, end_at), login_at, end_at, coalesce(reason, 'o'), s, t, ext FROM public.session_stage WHERE greatest(login_b, end_b) = $b ORDER BY first_n;"
      elif [[ $mode == upsert || $mode == checked ]]; then
        # +checked: first the trigger's check that every key has its text (a probe per key; an
        # error, as in the trigger, when one has none).
        [[ $mode == checked ]] && echo "SELECT caliper.text_missing(d.k, 'a key') FROM (SELECT DISTINCT v.k FROM public.session_stage AS x, LATERAL (VALUES (x.user_ref), (x.p)) AS v(k) WHERE (x.login_b = $b OR x.end_b = $b) AND v.k IS NOT NULL) AS d WHERE NOT EXISTS (SELECT FROM caliper.texts AS t WHERE t.id = d.k) LIMIT 1;"
        # The batch's facts per session, as a writer would merge them in memory (its login and
        # its end when they are in this batch), then the trigger's own merge with the table.
        echo "INSERT INTO caliper.session_rows AS s ($session_rows_cols) SELECT p, user_ref, least(CASE WHEN login_b = $b THEN login_at END, CASE WHEN end_b = $b THEN end_at END), greatest(CASE WHEN login_b = $b THEN login_at END, CASE WHEN end_b = $b THEN end_at END), CASE WHEN login_b = $b THEN login_at END, CASE WHEN end_b = $b THEN end_at END, CASE WHEN end_b = $b THEN reason ELSE 'o' END, s, t, ext FROM public.session_stage WHERE login_b = $b OR end_b = $b ORDER BY p, t, s $merge;"
      fi
      keeps_sessions "$mode" && echo "COMMIT;"
    done
    echo "\\! cat /proc/\$CALIPER_PID/stat > $work/cpu1"
  } >"$work/batches-$mode.sql"
done

cpu_us_per_event() {
  python3 - "$work" "$rows" <<'PY'
import os, sys
w, rows = sys.argv[1], int(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")
def cpu(p):
    f = open(p).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz
print(f"{(cpu(w + '/cpu1') - cpu(w + '/cpu0')) * 1e6 / rows:.1f}")
PY
}

declare -A results staged digests
for ((r = 1; r <= rounds; ++r)); do
  for db in "$@"; do
    real=${db%+*} mode=conflict
    [[ $db == *+* ]] && mode=${db##*+}
    if keeps_sessions "$mode" && [[ -z ${staged[$real]:-} ]]; then
      floor_setup "$real"
      staged[$real]=1
    fi
    rel=$(q "$real" -c "SELECT coalesce(to_regclass('caliper.session_rows'), 'caliper.sessions'::regclass)")
    q "$real" -c "TRUNCATE caliper.event_rows, $rel" -c "VACUUM ANALYZE caliper.event_rows, $rel" -c "CHECKPOINT"
    q "$real" -f "$work/batches-$mode.sql" >/dev/null
    results[$db]+="$(cpu_us_per_event) "
    ((r == rounds)) && digests[$db]=$(q "$real" -c "SELECT count(*) || ' ' || md5(string_agg((source, session_id, user_id, user_external_id, started_at, ended_at, end_reason, first_event_at, last_event_at)::text, ',' ORDER BY source, session_id)) FROM caliper.sessions HAVING count(*) > 0")
  done
  echo "round $r: $(for db in "$@"; do v=${results[$db]% }; printf '%s %s  ' "$db" "${v##* }"; done)" >&2
done

# The sessions each database left in the last round: the same wherever there are any.
compared=0
for db in "$@"; do [[ -n ${digests[$db]:-} ]] && compared=$((compared + 1)); done
if [[ $(for db in "$@"; do [[ -z ${digests[$db]:-} ]] || echo "${digests[$db]}"; done | sort -u | wc -l) -gt 1 ]]; then
  for db in "$@"; do echo "sessions of $db: ${digests[$db]:-none}" >&2; done
  echo "the databases hold different sessions" >&2
  exit 1
fi
echo "sessions: the same in the $compared of $# that keep them (caliper.sessions, md5 of every column)" >&2

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
last=${*: -1}
m_last=$(median <<<"${results[$last]}")
echo "| database | backend CPU µs/event, median of $rounds | rounds | against $last |"
echo "| --- | --- | --- | --- |"
for db in "$@"; do
  m=$(median <<<"${results[$db]}")
  echo "| $db | $m | ${results[$db]% } | $(python3 -c "print(f'{$m / $m_last - 1:+.0%}')") |"
done

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
url() { scripts/pg-cluster url "$cluster" "$1"; }
q() { psql "$(url "$1")" -X -qAt -v ON_ERROR_STOP=1 "${@:2}"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cols="event_id, source, action, event_time, user_ref, user_lms_id, user_external_id, session_tail, session_name, ip_address, received_at, actor_ref, user_agent_ref, ed_app_ref, sensor_ref, session_prefix_ref, session_name_is_tail"
for mode in conflict plain; do
  conflict=""
  [[ $mode == plain ]] || conflict="ON CONFLICT DO NOTHING "
  {
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv CALIPER_PID :pid"
    echo "\\! cat /proc/\$CALIPER_PID/stat > $work/cpu0"
    for ((lo = 0; lo < rows; lo += batch)); do
      echo "INSERT INTO caliper.event_rows ($cols) SELECT $cols FROM public.stage WHERE n > $lo AND n <= $((lo + batch)) ORDER BY n ${conflict}RETURNING event_id, event_time \\g /dev/null"
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

declare -A results
for ((r = 1; r <= rounds; ++r)); do
  for db in "$@"; do
    real=${db%+plain} mode=conflict
    [[ $db == *+plain ]] && mode=plain
    rel=$(q "$real" -c "SELECT coalesce(to_regclass('caliper.session_rows'), 'caliper.sessions'::regclass)")
    q "$real" -c "TRUNCATE caliper.event_rows, $rel" -c "VACUUM ANALYZE caliper.event_rows, $rel" -c "CHECKPOINT"
    q "$real" -f "$work/batches-$mode.sql" >/dev/null
    results[$db]+="$(cpu_us_per_event) "
  done
  echo "round $r: $(for db in "$@"; do v=${results[$db]% }; printf '%s %s  ' "$db" "${v##* }"; done)" >&2
done

median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
last=${*: -1}
m_last=$(median <<<"${results[$last]}")
echo "| database | backend CPU µs/event, median of $rounds | rounds | against $last |"
echo "| --- | --- | --- | --- |"
for db in "$@"; do
  m=$(median <<<"${results[$db]}")
  echo "| $db | $m | ${results[$db]% } | $(python3 -c "print(f'{$m / $m_last - 1:+.0%}')") |"
done

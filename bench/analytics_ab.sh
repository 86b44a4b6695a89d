#!/usr/bin/env bash
# The analysts' questions on two databases side by side: the ten queries of sql/README.md, the
# four views, a day's sessions and a day's events with every column, each timed on database A
# and then on database B, RUNS times in turn (this host's speed drifts from minute to minute, so
# only a pair measured together compares). Medians in ms, with psql started and every row sent
# to it, as an analyst gets them. Both databases must hold the same events (bench/analytics.sh
# with the same EVENTS): the script stops when a query's row count differs.
#
# usage: bench/analytics_ab.sh URL_A URL_B      (RUNS=5)
# E.g. A loaded by bench/analytics.sh of an older checkout, B by this one.
set -euo pipefail
cd "$(dirname "$0")/.."

a=${1:?usage: bench/analytics_ab.sh URL_A URL_B}
b=${2:?usage: bench/analytics_ab.sh URL_A URL_B}
runs=${RUNS:-5}
q() { PGOPTIONS="-c TimeZone=UTC -c work_mem=64MB" psql "$1" -X -v ON_ERROR_STOP=1 -qAt -c "$2"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

events_a=$(q "$a" "SELECT count(*) FROM caliper.session_events")
events_b=$(q "$b" "SELECT count(*) FROM caliper.session_events")
[[ $events_a == "$events_b" ]] || { echo "A holds $events_a events, B $events_b" >&2; exit 1; }
echo "analytics A/B: $events_a events, $runs runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
day=$(q "$a" "SELECT (timestamptz '2026-12-01 00:00+00' + interval '45 days')::date")

timed() {  # $1 label, $2 SQL
  local ta=() tb=() ra rb s i
  for ((i = 0; i < runs; ++i)); do
    s=$(now_ms); ra=$(q "$a" "$2" | wc -l); ta+=($(($(now_ms) - s)))
    s=$(now_ms); rb=$(q "$b" "$2" | wc -l); tb+=($(($(now_ms) - s)))
  done
  [[ $ra == "$rb" ]] || { echo "$1: A returned $ra rows, B $rb" >&2; exit 1; }
  local ma mb
  ma=$(printf '%s\n' "${ta[@]}" | median)
  mb=$(printf '%s\n' "${tb[@]}" | median)
  printf '| %s | %s | %s | %s | %+d%% |\n' "$1" "$ra" "$ma" "$mb" "$(((mb - ma) * 100 / (ma > 0 ? ma : 1)))"
}

echo "| query | rows | A ms | B ms | B against A |"
echo "| --- | --- | --- | --- | --- |"
n=0
while IFS= read -r -d '' sql; do
  n=$((n + 1))
  timed "sql/README.md query $n" "$sql"
done < <(python3 -c '
import re, sys
for m in re.finditer(r"```sql\n(.*?)```", open("sql/README.md").read(), re.S):
    sys.stdout.write(m.group(1).strip().rstrip(";") + "\0")')
while IFS='|' read -r name sql; do
  timed "$name" "$sql"
done <<SQL
view daily_active_users, all days|SELECT * FROM caliper.daily_active_users
view daily_active_users, one day|SELECT * FROM caliper.daily_active_users WHERE day = '$day'
view logins_by_hour|SELECT * FROM caliper.logins_by_hour
view concurrent_sessions|SELECT * FROM caliper.concurrent_sessions
view session_end_reasons|SELECT * FROM caliper.session_end_reasons
sessions that started on $day|SELECT * FROM caliper.sessions WHERE started_at >= '$day 00:00+00' AND started_at < '$day 00:00+00'::timestamptz + interval '1 day'
events of $day, every column|SELECT * FROM caliper.session_events WHERE event_time >= '$day 00:00+00' AND event_time < '$day 00:00+00'::timestamptz + interval '1 day'
SQL

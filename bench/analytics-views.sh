#!/usr/bin/env bash
# How long the analyst views take on the database of bench/analytics.sh: each view whole, and
# filtered to one day (or hour range), RUNS runs each, the median in ms (psql round trip and
# every row sent to psql included). The views aggregate their whole table; this shows what that
# costs at scale. Not `SELECT count(*) FROM (view)`: PostgreSQL then drops the columns nobody
# reads, count(DISTINCT ...) included, and may answer from an index alone (until 2026-12-01 this
# script did that, and measured daily_active_users at 887 ms where an analyst waits ~5 s).
# usage: bench/analytics-views.sh "$(scripts/pg-cluster url /tmp/pg bench_analytics)"
set -euo pipefail
url=${1:?usage: bench/analytics-views.sh DATABASE_URL}
runs=${RUNS:-3}
q() { psql "$url" -X -v ON_ERROR_STOP=1 -qAt -c "SET TimeZone = 'UTC'" -c "$1"; }
now_ms() { date +%s%3N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

day=$(q "SELECT (timestamptz '2026-12-01 00:00+00' + interval '45 days')::date")
echo "## views on $(q 'SELECT count(*) FROM caliper.session_events') events, $(q 'SELECT count(*) FROM caliper.sessions') sessions (load $(cut -d' ' -f1-3 /proc/loadavg))"
while IFS='|' read -r name sql; do
  times=()
  for ((i = 0; i < runs; ++i)); do
    s=$(now_ms)
    rows=$(q "$sql" | wc -l)  # every row to the client, as an analyst gets them
    times+=($(($(now_ms) - s)))
  done
  echo "$name: $rows rows; runs ${times[*]} ms; median $(printf '%s\n' "${times[@]}" | median) ms"
done <<SQL
daily_active_users, all days|SELECT * FROM caliper.daily_active_users
daily_active_users, one day|SELECT * FROM caliper.daily_active_users WHERE day = '$day'
logins_by_hour, all hours|SELECT * FROM caliper.logins_by_hour
logins_by_hour, one day|SELECT * FROM caliper.logins_by_hour WHERE hour >= '$day' AND hour < '$day'::date + 1
concurrent_sessions, all hours|SELECT * FROM caliper.concurrent_sessions
concurrent_sessions, one day|SELECT * FROM caliper.concurrent_sessions WHERE hour >= '$day' AND hour < '$day'::date + 1
session_end_reasons, all days|SELECT * FROM caliper.session_end_reasons
session_end_reasons, one day|SELECT * FROM caliper.session_end_reasons WHERE day = '$day'
SQL

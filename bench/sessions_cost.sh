#!/usr/bin/env bash
# What keeping caliper.sessions costs PostgreSQL (issue 12 item 3, bench/README.md): COPY of the
# same rows into caliper.session_events with its sessions trigger on, and with it disabled, in
# the same minutes, for two shapes of traffic:
#   updates   loadgen's: 20,000 sessions (one per user), every event updates one (bench/run's shape)
#   sessions  a campus's: every session is a LoggedIn and, 5,000 rows (5 COPYs) later, its
#             LoggedOut or TimedOut: one insert and one update of caliper.sessions per session
# Each run gets a freshly migrated database of one private cluster; the trigger-off runs
# alternate with the trigger-on ones. Reports the medians and the cost of the sessions as a share
# of the insert itself: (rows/s off) / (rows/s on) - 1 (issue 12's target: at most 25%), plus
# what the trigger left in caliper.sessions (inserts, updates, HOT updates, dead rows) and the
# cluster's CPU per row (utime+stime of the postmaster and its children, from /proc).
#
#   bench/sessions_cost.sh [--seconds 10] [--runs 3] [--shapes "updates sessions"] [--setup-sql SQL]
#   --setup-sql: run after each migration, before the COPY (to try a change of sql/ first, e.g.
#                "ALTER TABLE caliper.sessions SET (fillfactor = 50)")
#   CALIPER_BENCH_BUILD=DIR, CALIPER_BENCH_OUT=DIR: see bench/cluster_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

seconds=10 runs=3 shapes="updates sessions" setup_sql=
while (($#)); do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --shapes) shapes=$2; shift 2 ;;
    --setup-sql) setup_sql=$2; shift 2 ;;
    *) echo "bench/sessions_cost.sh: unknown option $1 (see the head of bench/sessions_cost.sh)" >&2; exit 2 ;;
  esac
done

name=sessions_cost
# shellcheck source=bench/cluster_bench.sh
source bench/cluster_bench.sh
export CALIPER_SERVER_TLS=false CALIPER_API_KEYS=bench:not-used-by-migrate CALIPER_LOG_LEVEL=warn
db() { psql "$(pg_url bench_sessions)" -X -qAt -v ON_ERROR_STOP=1 "$@"; }
fresh_db() {
  admin -c "DROP DATABASE IF EXISTS bench_sessions" -c "CREATE DATABASE bench_sessions"
  CALIPER_DATABASE_URL=$(pg_url bench_sessions) "$server_bin" --config /dev/null migrate >>"$out/migrate.log" 2>&1
  if [[ -n $setup_sql ]]; then db -c "$setup_sql"; fi
}
# CPU ticks of the whole cluster: the postmaster, its live children and its reaped children.
pg_ticks() {
  local pm
  pm=$(head -n 1 "$out/pg/data/postmaster.pid")
  python3 - "$pm" <<'PY'
import os, sys
pm = sys.argv[1]
def fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()
total = 0
f = fields(pm)
total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
for pid in os.listdir("/proc"):
    if not pid.isdigit() or pid == pm:
        continue
    try:
        g = fields(pid)
    except OSError:
        continue
    if g[1] == pm:
        total += int(g[11]) + int(g[12])
print(total)
PY
}
hz=$(getconf CLK_TCK)

log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $runs runs of ${seconds}s per shape and trigger state${setup_sql:+; setup: $setup_sql}"
for ((run = 1; run <= runs; run++)); do
  for shape in $shapes; do
    case $shape in
      updates) span=0 ;;
      sessions) span=2 ;;
      *) echo "bench/sessions_cost.sh: unknown shape $shape" >&2; exit 2 ;;
    esac
    for trigger in on off; do
      fresh_db
      [[ $trigger == off ]] && db -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"
      t0=$(pg_ticks)
      json=$("$copy_ceiling" --url "$(pg_url bench_sessions)" --connections 2 --batch 1000 --seconds "$seconds" \
               --session-events "$span")
      t1=$(pg_ticks)
      rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events_per_s"])' "$json")
      rows=$(db -c "SELECT count(*) FROM caliper.session_events")
      stats=$(db -F ' ' -c "SELECT n_tup_ins, n_tup_upd, n_tup_hot_upd, n_dead_tup, pg_total_relation_size('caliper.sessions')
                             FROM pg_stat_user_tables WHERE relid = 'caliper.sessions'::regclass")
      read -r ins upd hot dead bytes <<<"$stats"
      cpu_us=$(python3 -c "print(round(($t1 - $t0) / $hz * 1e6 / max($rows, 1), 1))")
      log "run $run $shape trigger $trigger: $rate rows/s, PostgreSQL $cpu_us µs/row; sessions: $ins inserted, $upd updated ($hot HOT), $dead dead, $bytes bytes"
      printf '{"run":%d,"shape":"%s","trigger":"%s","rows_per_s":%s,"rows":%s,"pg_cpu_us_per_row":%s,"sessions_inserted":%s,"sessions_updated":%s,"sessions_hot_updated":%s,"sessions_dead":%s,"sessions_bytes":%s,"load":"%s"}\n' \
        "$run" "$shape" "$trigger" "$rate" "$rows" "$cpu_us" "${ins:-0}" "${upd:-0}" "${hot:-0}" "${dead:-0}" "${bytes:-0}" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results"
    done
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for shape in dict.fromkeys(r["shape"] for r in rows):
    on = [r for r in rows if r["shape"] == shape and r["trigger"] == "on"]
    off = [r for r in rows if r["shape"] == shape and r["trigger"] == "off"]
    rate_on = statistics.median(r["rows_per_s"] for r in on)
    rate_off = statistics.median(r["rows_per_s"] for r in off)
    cpu_on = statistics.median(r["pg_cpu_us_per_row"] for r in on)
    cpu_off = statistics.median(r["pg_cpu_us_per_row"] for r in off)
    hot = sum(r["sessions_hot_updated"] for r in on) / max(1, sum(r["sessions_updated"] for r in on))
    print(f"{shape}: {len(on)} runs; trigger on {rate_on:,.0f} rows/s ({cpu_on} µs/row of PostgreSQL CPU), "
          f"off {rate_off:,.0f} rows/s ({cpu_off} µs/row); sessions cost {rate_off / rate_on - 1:.0%} of the insert "
          f"by rate, {cpu_on / cpu_off - 1:.0%} by CPU (target <= 25%); HOT share of session updates {hot:.0%}")
PY
echo "bench/sessions_cost.sh: results in $out" >&2

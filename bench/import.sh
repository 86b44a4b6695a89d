#!/usr/bin/env bash
# The rate of `caliper-sessiond import` against the COPY ceiling (issue 15 item 1, bench/README.md).
# For each run, into a freshly migrated database of its own PostgreSQL cluster:
#   copy    caliper-copy-ceiling --rows N: COPY of N rows of the same shape (no parsing, no conflict handling)
#   import  caliper-sessiond import of N generated SessionEvents (bench/import_events.py, JSON Lines)
# Both with 2 connections and batches of 1,000. Prints each run and the medians; the ratio is
# median import rate / median COPY rate (target: at least 0.70 at 10M events).
#
#   bench/import.sh [--events 1000000] [--runs 3] [--layout lines|envelopes|array] [--gzip]
#   CALIPER_BENCH_BUILD=DIR, CALIPER_BENCH_OUT=DIR: see bench/cluster_bench.sh (the generated file goes to DIR too)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

events=1000000 runs=3 layout=lines gzip=0
while (($#)); do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --layout) layout=$2; shift 2 ;;
    --gzip) gzip=1; shift ;;
    *) echo "bench/import.sh: unknown option $1 (see the head of bench/import.sh)" >&2; exit 2 ;;
  esac
done

name=import
# shellcheck source=bench/cluster_bench.sh
source bench/cluster_bench.sh
export CALIPER_SERVER_TLS=false CALIPER_API_KEYS=bench:not-used-by-import CALIPER_DATABASE_CONNECTIONS=2 \
  CALIPER_DATABASE_BATCH_MAX_EVENTS=1000 CALIPER_LOG_LEVEL=warn
fresh_db() {
  admin -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
  CALIPER_DATABASE_URL=$(pg_url "$1") "$server_bin" --config /dev/null migrate >>"$out/migrate.log" 2>&1
}
now() { date +%s.%N; }

file=$out/events.$layout
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); generating $events events ($layout) in $out"
bench/import_events.py "$events" --layout "$layout" >"$file"
if ((gzip)); then gzip -1 "$file" && file=$file.gz; fi
log "file: $(du -h "$file" | cut -f1)"

for ((run = 1; run <= runs; run++)); do
  fresh_db bench_copy
  copy_json=$("$copy_ceiling" --url "$(pg_url bench_copy)" --connections 2 --batch 1000 --rows "$events")
  copy_rate=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["events_per_s"])' "$copy_json")
  admin -c "DROP DATABASE bench_copy"

  fresh_db bench_import
  t0=$(now)
  summary=$(CALIPER_DATABASE_URL=$(pg_url bench_import) "$server_bin" --config /dev/null import --source bench "$file" 2>>"$out/import.log")
  t1=$(now)
  stored=$(psql "$(pg_url bench_import)" -X -qAt -c "SELECT count(*) FROM caliper.session_events")
  admin -c "DROP DATABASE bench_import"
  [[ $stored == "$events" ]] || { echo "bench/import.sh: $stored rows stored, not $events ($summary)" >&2; exit 1; }
  import_rate=$(python3 -c "print(round($events / ($t1 - $t0), 1))")
  log "run $run: copy $copy_rate rows/s, import $import_rate events/s ($summary), load $(cut -d' ' -f1 /proc/loadavg)"
  printf '{"run":%d,"events":%d,"layout":"%s","copy_events_per_s":%s,"import_events_per_s":%s,"load":"%s"}\n' \
    "$run" "$events" "$layout" "$copy_rate" "$import_rate" "$(cut -d' ' -f1-3 /proc/loadavg)" >>"$results"
done

python3 - "$results" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
copy = statistics.median(r["copy_events_per_s"] for r in rows)
imp = statistics.median(r["import_events_per_s"] for r in rows)
print(f"events {rows[0]['events']} ({rows[0]['layout']}), {len(rows)} runs: median COPY {copy:,.0f} rows/s, "
      f"median import {imp:,.0f} events/s, ratio {imp / copy:.2f}")
PY

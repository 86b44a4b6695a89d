#!/usr/bin/env bash
# Heap allocation calls per request of caliper-sessiond, counted by heaptrack (Debian package,
# installed when missing): a count, not a time, so it does not wander with this machine's load.
#   bench/allocs.sh [--events 10] [--requests 20000] [--rate 2000] [--top 15]
# The server (journal mode, its own PostgreSQL cluster and journal in a temporary folder) runs
# under heaptrack twice, for N and for 2N requests of caliper-loadgen at a fixed rate (16
# connections, --other-share 0.3: 0.3 ViewEvents per SessionEvent, rounded); the difference over
# N is the figure per request, free of start-up and shutdown. Then the callers: the allocations
# of the 2N run grouped by the last caliper_sessiond:: frame of each stack, per request. That
# is a guide, not an exact split: heaptrack names functions of anonymous namespaces without
# their namespace, and an inlined function shows as the one it was inlined into.
#   CALIPER_BENCH_BUILD=DIR  a build holding src/app/caliper-sessiond and bench/caliper-loadgen
#                            (default: build/bench, made with the bench preset)
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/.."
root=$PWD

events=10 requests=20000 rate=2000 top=15
while (($#)); do
  case "$1" in
    --events) events=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --top) top=$2; shift 2 ;;
    *) echo "bench/allocs.sh: unknown option $1 (see the head of bench/allocs.sh)" >&2; exit 2 ;;
  esac
done

build=${CALIPER_BENCH_BUILD:-build/bench}
if [[ -z ${CALIPER_BENCH_BUILD:-} ]]; then
  scripts/bootstrap
  mkdir -p build
  (
    flock 9
    cmake --preset bench >/dev/null
    cmake --build --preset bench -j "$(nproc)" --target caliper-sessiond caliper-loadgen
  ) 9>build/.bench.lock
fi
[[ $build == /* ]] || build=$root/$build
server_bin=$build/src/app/caliper-sessiond
loadgen=$build/bench/caliper-loadgen
for b in "$server_bin" "$loadgen"; do
  [[ -x $b ]] || { echo "bench/allocs.sh: $b is missing" >&2; exit 1; }
done
if ! command -v heaptrack >/dev/null || ! command -v heaptrack_print >/dev/null; then
  echo "bench/allocs.sh: installing heaptrack (Debian)" >&2
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends heaptrack >&2
fi

out=$(mktemp -d /tmp/caliper-allocs.XXXXXX)
chmod 755 "$out"
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then
    pkill -9 -P "$server_pid" 2>/dev/null || true  # the server runs as heaptrack's child
    kill -9 "$server_pid" 2>/dev/null || true
  fi
  scripts/pg-cluster stop "$out/pg" >/dev/null 2>&1 || true
}
trap cleanup EXIT

scripts/pg-cluster init "$out/pg" >/dev/null
scripts/pg-cluster start "$out/pg"
pg_url() { scripts/pg-cluster url "$out/pg" "$1"; }
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$out/key.pem" -out "$out/cert.pem" 2>/dev/null
key=$(openssl rand -hex 20)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# count N: writes to $out/calls-N the allocation calls of a heaptrack'd server that answered N
# requests; its data file is left at $out/heap-N.* (.zst or .gz). Not run in a subshell, so that
# the EXIT trap sees server_pid.
count() {
  local n=$1
  psql "$(pg_url postgres)" -X -qAt -c "DROP DATABASE IF EXISTS allocs" -c "CREATE DATABASE allocs"
  CALIPER_DATABASE_URL=$(pg_url allocs) CALIPER_SERVER_TLS=false CALIPER_API_KEYS=bench:not-used-by-migrate \
    "$server_bin" --config /dev/null migrate >>"$out/migrate.log" 2>&1
  rm -rf "$out/journal"
  cat >"$out/caliper-sessiond.toml" <<TOML
[server]
listen = "127.0.0.1:$port"
tls_cert = "$out/cert.pem"
tls_key = "$out/key.pem"
[database]
url = "$(pg_url allocs)"
[journal]
durability = "journal"
dir = "$out/journal"
[[api_keys]]
name = "bench"
secret = "$key"
TOML
  heaptrack -o "$out/heap-$n" "$server_bin" --config "$out/caliper-sessiond.toml" serve >>"$out/heaptrack.log" 2>>"$out/server.log" &
  server_pid=$!
  local ready=""
  for _ in $(seq 300); do
    curl -sf --max-time 5 --cacert "$out/cert.pem" "https://127.0.0.1:$port/readyz" >/dev/null && { ready=1; break; }
    sleep 0.1  # polling for the server to be ready
  done
  [[ -n $ready ]] || { echo "bench/allocs.sh: the server did not become ready, see $out/server.log" >&2; exit 1; }
  local json
  json=$("$loadgen" --url "https://127.0.0.1:$port/caliper" --key "$key" --cacert "$out/cert.pem" --connections 16 \
    --seconds 600 --events "$events" --other-share 0.3 --rate "$rate" --max-requests "$n" 2>>"$out/load.err")
  local ok
  ok=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["requests_ok"])' "$json")
  [[ $ok == "$n" ]] || { echo "bench/allocs.sh: $ok of $n requests answered 200 (see $out)" >&2; exit 1; }
  # heaptrack writes its file when the server exits; the server exits on SIGTERM.
  pkill -TERM -P "$server_pid" -f caliper-sessiond || kill -TERM "$server_pid"
  wait "$server_pid" || true
  server_pid=""
  local calls
  calls=$(heaptrack_print -f "$out"/heap-"$n".* 2>>"$out/heaptrack.log" | awk '/^calls to allocation functions:/ {print $5}' || true)
  [[ -n $calls ]] || { echo "bench/allocs.sh: heaptrack_print read nothing from $out/heap-$n.* (see $out/heaptrack.log)" >&2; exit 1; }
  echo "$calls" >"$out/calls-$n"
}

echo "bench/allocs.sh: $events-event envelopes, $requests and $((2 * requests)) requests at $rate/s; files in $out" >&2
count "$requests"
count $((2 * requests))
a=$(<"$out/calls-$requests")
b=$(<"$out/calls-$((2 * requests))")
python3 - "$a" "$b" "$requests" "$events" <<'PY'
import sys
a, b, n, ev = (int(x) for x in sys.argv[1:])
print(f"allocation calls: {a} for {n} requests, {b} for {2 * n}")
print(f"per {ev}-event request: {(b - a) / n:.1f}")
PY
heaptrack_print -f "$out"/heap-$((2 * requests)).* --print-allocators 0 --print-peaks 0 --print-leaks 0 \
  --print-temporary 0 --flamegraph-cost-type allocations -F "$out/stacks.txt" >/dev/null 2>&1
python3 - "$out/stacks.txt" $((2 * requests)) "$top" <<'PY'
import collections, re, sys
path, n, top = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
by = collections.Counter()
for line in open(path, errors="replace"):
    stack, _, count = line.rstrip().rpartition(" ")
    own = [f for f in stack.split(";") if "caliper_sessiond::" in f]
    by[re.sub(r"\(.*", "", own[-1])[:100] if own else "(outside caliper-sessiond's code)"] += int(count)
print(f"by the last caliper_sessiond:: frame of the stack, per request of the {n}-request run (start-up included):")
for name, count in by.most_common(top):
    print(f"  {count / n:6.1f}  {name}")
PY

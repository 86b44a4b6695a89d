# Sourced by bench/import.sh and bench/sessions_cost.sh (not run): the bench build, an output
# folder and a private PostgreSQL cluster in it, stopped on exit. The caller sets `name` (for
# messages and the default folder) and `root` (the checkout) first. Gives: server_bin,
# copy_ceiling, out, results (emptied), log, pg_url DB, admin (psql on database postgres).
#   CALIPER_BENCH_BUILD=DIR  a build holding src/app/caliper-sessiond and bench/caliper-copy-ceiling
#                            (default: build/bench, made with the bench preset)
#   CALIPER_BENCH_OUT=DIR    where results.jsonl and logs go (default: a new folder under /tmp)

build=${CALIPER_BENCH_BUILD:-build/bench}
if [[ -z ${CALIPER_BENCH_BUILD:-} ]]; then
  mkdir -p build
  (
    flock 9  # one build of build/bench at a time (bench/run and others use it too)
    cmake --preset bench >/dev/null
    cmake --build --preset bench -j 2 --target caliper-sessiond caliper-copy-ceiling
  ) 9>build/.bench.lock
fi
[[ $build == /* ]] || build=$root/$build
server_bin=$build/src/app/caliper-sessiond
copy_ceiling=$build/bench/caliper-copy-ceiling
for b in "$server_bin" "$copy_ceiling"; do
  [[ -x $b ]] || { echo "bench/$name: $b is missing" >&2; exit 1; }
done

out=${CALIPER_BENCH_OUT:-$(mktemp -d "/tmp/caliper-$name.XXXXXX")}
mkdir -p "$out"
chmod 755 "$out"  # the cluster runs as caliper-pg when this runs as root (scripts/pg-cluster)
out=$(cd "$out" && pwd)
results=$out/results.jsonl
: >"$results"
cleanup() { scripts/pg-cluster stop "$out/pg" >/dev/null 2>&1 || true; }
trap cleanup EXIT
log() { echo "bench/$name $(date -u +%H:%M:%S) $*" >&2; }

scripts/pg-cluster init "$out/pg" >/dev/null
scripts/pg-cluster start "$out/pg" >/dev/null
pg_url() { scripts/pg-cluster url "$out/pg" "$1"; }
admin() { psql "$(pg_url postgres)" -X -qAt -v ON_ERROR_STOP=1 "$@"; }

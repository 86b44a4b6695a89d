#!/usr/bin/env bash
# Issue 12 item 3, measured before it is built: what a compact layout of the events would save
# in bytes and cost in PostgreSQL's CPU, against today's tables, on the same rows.
#
#   bench/compact_storage.sh [--rows N] [--batch B] [--sessions-fillfactor F]
#                                      (defaults: 1,000,000 rows, 1,000 a batch, fillfactor 90)
#
# The rows are caliper-copy-ceiling's campus shape (--session-events 2: every session a LoggedIn
# and, thousands of rows later, its LoggedOut or TimedOut), COPYed once into a staging table.
# Then, each in a fresh database, batches of B rows are inserted the way the writer would, one
# transaction per batch, from one connection whose backend CPU is read from /proc:
#   wide     today: INSERT INTO caliper.event_rows ... ON CONFLICT DO NOTHING RETURNING; the
#            statement trigger keeps caliper.sessions (sql/001-008, as migrated by the server)
#   compact  a prototype: the long repeated values (actor, user, LMS and external ids, user
#            agent, edApp, sensor, and the session IRIs up to their last '/') in one dictionary
#            table whose integer keys the writer would cache (resolved before the timing starts,
#            as a warm cache would send them); sessions keyed by a bigint, with their IRI's own
#            part and their name stored once; each batch upserts its sessions and inserts its
#            events with the sessions' keys in one statement (no trigger). Same indexes as today:
#            primary key (event_id, event_time), BRIN on event_time; sessions by key,
#            started_at, user (a btree on the integer; today's is a hash on the IRI). --sessions-fillfactor (default 90) for caliper.sessions' pages.
#   compact_split  sessions insert-only: identity, start and end in three tables (see run_compact)
#   compact_hash   sessions keyed by a 64-bit hash of (source, IRI) the writer computes
#   compact_fold   the same, the sessions folded every --fold-every batches (default 50) in one
#                  upsert, the events inserted alone in between
#   wide_staged    today's tables; the trigger only appends the batch's session facts to a heap
#                  with no index, and every --fold-every batches one statement takes them out and
#                  merges them (sql/003's merge)
#   wide_fold      today's tables, the trigger off; the facts merged every --fold-every batches
#                  straight from the rows, as a writer that kept them in memory would send them
#   wide_hash      today's trigger with caliper.sessions keyed by a 64-bit hash of (source, IRI)
#   The three end with the same caliper.sessions as wide (checked when wide runs too); they are
#   not in the default run: name them in CALIPER_COMPACT_LAYOUTS.
#   server         what the server sends since migration 009: one caliper.write_events call per
#                  batch (the user agent, edApp, sensor and an actor other than the user as keys
#                  into caliper.texts), with the sessions trigger; bytes include caliper.texts;
#                  server_nosessions: the same with the trigger disabled
#   arrays         the writer's statement before 009 (wide rows from arrays, the same array
#                  building as server's); arrays_nosessions: the trigger disabled. Neither is in
#                  the default run either.
#   keys           the writer's statement since migration 010: the texts' keys held in memory
#                  (asked before the clock starts), one plain INSERT of keys; keys_nosessions:
#                  the trigger disabled. Not in the default run.
#   tails          the writer's statement since migration 011: keys as above, and the session IRI
#                  as its prefix's key and its tail, the name only when not the tail.
#   users          the writer's statement since migration 012: as tails, and the user IRI as a
#                  key too (user_ref). Since migration 013 the sessions are caliper.session_rows
#                  (keys; CALIPER_SESSION_ROWS_FILLFACTOR sets its fillfactor, 50 in 013).
#   users012       the same statement on a database migrated only up to 012 (caliper.sessions a
#                  table with the IRIs as text); its sessions are checked equal to users'.
#   server009      server with caliper.write_events as 009 defined it (read from git), the
#                  reference for the runs after 010 changed it. Both have _nosessions too.
# CALIPER_COMPACT_LAYOUTS="..." runs only some of them (the summary line needs the first five).
# Prints, per layout: rows/s, backend CPU µs per event, and bytes per event of the events and
# sessions tables with their indexes (and the dictionary, for compact).
# Needs the bench build (CALIPER_BENCH_BUILD, default build/bench) for the server's migrations
# and caliper-copy-ceiling; PostgreSQL 15's binaries. Runs its own cluster in a temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

rows=1000000 batch=1000 fillfactor=90 fold_every=50
while [[ $# -gt 0 ]]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --sessions-fillfactor) fillfactor=$2; shift 2 ;;
    --fold-every) fold_every=$2; shift 2 ;;
    *) echo "usage: $0 [--rows N] [--batch B] [--sessions-fillfactor F] [--fold-every K]" >&2; exit 2 ;;
  esac
done
build=${CALIPER_BENCH_BUILD:-build/bench}
bin=$build/src/app/caliper-sessiond
copy=$build/bench/caliper-copy-ceiling
[[ -x $bin && -x $copy ]] || { echo "build the bench preset first: cmake --preset bench && cmake --build --preset bench" >&2; exit 1; }

work=$(mktemp -d /tmp/caliper-compact.XXXXXX)
chmod 755 "$work"
# CALIPER_COMPACT_KEEP=1 leaves the cluster running and its folder in place, to look further.
if [[ -z ${CALIPER_COMPACT_KEEP:-} ]]; then
  trap 'scripts/pg-cluster stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
else
  echo "compact: cluster kept in $work (scripts/pg-cluster stop $work/pg)" >&2
fi
PG_CLUSTER_FSYNC=off scripts/pg-cluster init "$work/pg" >/dev/null
scripts/pg-cluster start "$work/pg" >/dev/null
url() { scripts/pg-cluster url "$work/pg" "$1"; }
q() { psql "$(url "$1")" -X -qAt -v ON_ERROR_STOP=1 "${@:2}"; }
log() { echo "compact $(date -u +%T) $*" >&2; }

# $1 database; $2 (optional) the last migration to apply (then applied from sql/ by psql, as
# the server would; else all of them, by the server's migrate).
fresh_db() {
  q postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" 2>/dev/null
  if [[ -n ${2:-} ]]; then
    q "$1" -c "CREATE SCHEMA caliper" -c "CREATE TABLE caliper.schema_migrations (version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
    local f name version
    for f in sql/[0-9][0-9][0-9]_*.sql; do
      name=${f##*/}
      version=$((10#${name:0:3}))
      [[ $version -le $2 ]] || break
      { cat "$f"; echo ";INSERT INTO caliper.schema_migrations (version, name) VALUES ($version, '$name');"; } | q "$1" -1 -f - >/dev/null
    done
    return
  fi
  CALIPER_DATABASE_URL=$(url "$1") CALIPER_SERVER_TLS=false CALIPER_API_KEYS=bench:not-used-by-migrate \
    "$bin" --config /dev/null migrate >/dev/null 2>&1
  # CALIPER_SESSION_ROWS_FILLFACTOR: another fillfactor for caliper.session_rows (sql/013: 50).
  if [[ -n ${CALIPER_SESSION_ROWS_FILLFACTOR:-} ]]; then
    q "$1" -c "ALTER TABLE caliper.session_rows SET (fillfactor = $CALIPER_SESSION_ROWS_FILLFACTOR)"
  fi
  # CALIPER_COMPACT_SETUP_SQL=FILE: SQL run after the migrations (to try a change of sql/ first).
  if [[ -n ${CALIPER_COMPACT_SETUP_SQL:-} ]]; then
    q "$1" -f "$CALIPER_COMPACT_SETUP_SQL" >/dev/null
  fi
}
# The table behind caliper.sessions: caliper.session_rows since migration 013.
sessions_rel="coalesce(to_regclass('caliper.session_rows'), 'caliper.sessions'::regclass)"

# The staging rows, once, as text (the columns of caliper.session_events) plus a sequence number.
fresh_db stage
q stage -c "CREATE UNLOGGED TABLE public.stage (LIKE caliper.session_events)"
log "staging $rows rows"
"$copy" --url "$(url stage)" --table public.stage --rows "$rows" --batch 10000 --connections 1 \
  --session-events 2 >/dev/null
q stage -c "ALTER TABLE public.stage ADD COLUMN n bigint GENERATED ALWAYS AS IDENTITY" \
  -c "CREATE UNIQUE INDEX ON public.stage (n)" -c "VACUUM ANALYZE public.stage"
q stage -c "\\copy (SELECT * FROM public.stage ORDER BY n) TO '$work/stage.tsv'"

# Inserts the staged rows in batches with one backend, printing "seconds cpu_seconds".
# $1 database, $2 the SQL of one batch with :lo and :hi (psql variables) for its rows.
# $3, $4 (optional): a second statement with :flo and :fhi, run after every $4 batches and at the
# end, over the rows of those batches (sessions folded from several batches at once).
timed_batches() {
  local db=$1 sql=$2 fold=${3:-} every=${4:-0} script="$work/batches.sql"
  {
    echo "SELECT pg_backend_pid() AS pid \\gset"
    echo "\\setenv CALIPER_PID :pid"
    echo "\\! cat /proc/\$CALIPER_PID/stat > $work/cpu0; date +%s.%N > $work/t0"
    local lo=0 flo=0 n=0
    while [[ $lo -lt $rows ]]; do
      echo "\\set lo $lo"
      echo "\\set hi $((lo + batch))"
      echo "$sql"
      lo=$((lo + batch))
      n=$((n + 1))
      if [[ -n $fold ]] && { [[ $((n % every)) -eq 0 ]] || [[ $lo -ge $rows ]]; }; then
        echo "\\set flo $flo"
        echo "\\set fhi $lo"
        echo "$fold"
        flo=$lo
      fi
    done
    echo "\\! cat /proc/\$CALIPER_PID/stat > $work/cpu1; date +%s.%N > $work/t1"
  } > "$script"
  q "$db" -f "$script" >/dev/null
  python3 - "$work" <<'PY'
import os, sys
w = sys.argv[1]
hz = os.sysconf("SC_CLK_TCK")
def cpu(p):
    f = open(p).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / hz
t = float(open(w + "/t1").read()) - float(open(w + "/t0").read())
print(f"{t:.2f} {cpu(w + '/cpu1') - cpu(w + '/cpu0'):.2f}")
PY
}

report() {  # $1 layout, $2 "seconds cpu", $3 bytes
  read -r secs cpu <<<"$2"
  python3 - "$1" "$rows" "$secs" "$cpu" "$3" <<'PY'
import sys
name, rows, secs, cpu, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5].split()
total = sum(int(x) for x in size)
print(f"| {name} | {rows:,} | {rows/secs:,.0f} | {cpu*1e6/rows:.1f} | " + " | ".join(f"{int(x)/rows:.0f}" for x in size) + f" | {total/rows:.0f} |")
PY
}

# The merge statement of today's trigger (sql/003), its source of events (regex $2) replaced by $3.
trigger_merge() {
  q "$1" -c "SELECT pg_get_functiondef('caliper.sessions_after_insert'::regproc)" | python3 -c '
import re, sys
f = sys.stdin.read()
body = f[f.index("WITH ev AS"):f.index("RETURN NULL;")].rstrip().rstrip(";")
new = re.sub(sys.argv[1], sys.argv[2], body)
assert new != body, "the trigger no longer reads " + sys.argv[1]
print(new)' "$2" "$3"
}

# --- wide: today's tables and trigger -------------------------------------------------------------
# $1 database, $2 "off" to disable the sessions trigger (the cost of the sessions, by difference).
run_wide() {
  local db=$1
  fresh_db "$db" "${3:-}"
  q "$db" -c "CREATE UNLOGGED TABLE public.stage (LIKE caliper.session_events, n bigint)" \
    -c "\\copy public.stage FROM '$work/stage.tsv'" -c "CREATE UNIQUE INDEX ON public.stage (n)" -c "VACUUM ANALYZE public.stage"
  [[ ${2:-on} == off ]] && q "$db" -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"
  local fold=""
  if [[ ${2:-on} == staged ]]; then
    # The trigger only appends the batch's session facts to a heap with no index; every
    # --fold-every batches one statement takes them out and merges them (sql/003's merge, its
    # transition table replaced by the DELETE ... RETURNING of the facts).
    local merge
    merge=$(trigger_merge "$db" "SELECT source, session_id, action, event_time, user_id, user_external_id\\s+FROM new_events WHERE session_id IS NOT NULL" \
      "DELETE FROM caliper.session_facts RETURNING source, session_id, action, event_time, user_id, user_external_id")
    q "$db" -c "CREATE TABLE caliper.session_facts (source text NOT NULL, session_id text NOT NULL, action caliper.session_action NOT NULL, event_time timestamptz NOT NULL, user_id text NOT NULL, user_external_id text)" \
      -c "CREATE OR REPLACE FUNCTION caliper.sessions_after_insert() RETURNS trigger LANGUAGE plpgsql AS \$fn\$ BEGIN INSERT INTO caliper.session_facts SELECT source, session_id, action, event_time, user_id, user_external_id FROM new_events WHERE session_id IS NOT NULL; RETURN NULL; END \$fn\$"
    fold="$merge;"
  elif [[ ${2:-on} == hash ]]; then
    # Today's trigger, the sessions keyed by a 64-bit hash of (source, IRI) instead of the text.
    local def
    def=$(q "$db" -c "SELECT pg_get_functiondef('caliper.sessions_after_insert'::regproc)" | python3 -c '
import sys
f = sys.stdin.read()
for a, b in [("INSERT INTO caliper.sessions AS s (source, session_id,", "INSERT INTO caliper.sessions AS s (key, source, session_id,"),
             ("SELECT span.source, span.session_id, anchor.user_id,", "SELECT hashtextextended(span.source || chr(31) || span.session_id, 0), span.source, span.session_id, anchor.user_id,"),
             ("ORDER BY span.source, span.session_id", "ORDER BY 1"),
             ("ON CONFLICT (source, session_id) DO UPDATE SET", "ON CONFLICT (key) DO UPDATE SET")]:
    assert a in f, a
    f = f.replace(a, b)
print(f)')
    q "$db" -c "ALTER TABLE caliper.sessions DROP CONSTRAINT sessions_pkey, ADD COLUMN key bigint NOT NULL, ADD PRIMARY KEY (key)" -c "$def"
  elif [[ ${2:-on} == fold ]]; then
    # The writer keeps its batches' session facts and merges them every --fold-every batches in
    # one statement (here read back from the staging rows, as the writer would send them).
    q "$db" -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"
    fold="$(trigger_merge "$db" "FROM new_events WHERE session_id IS NOT NULL" \
      "FROM public.stage WHERE n > :flo AND n <= :fhi AND session_id IS NOT NULL");"
  fi
  local insert="INSERT INTO caliper.event_rows SELECT event_id, source, action, event_time, actor_id, user_id, user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id, sensor, received_at FROM public.stage WHERE n > :lo AND n <= :hi ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null"
  [[ ${2:-on} == *_off ]] && q "$db" -c "ALTER TABLE caliper.event_rows DISABLE TRIGGER session_events_to_sessions"
  # server and arrays: the batch as one array per column (CTE a), as the writer sends it.
  local c names="event_id, source, action, event_time, actor_id, user_id, user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id, sensor, received_at"
  local aggregated="" arrays=""
  for c in ${names//,/}; do
    aggregated+="${aggregated:+, }array_agg($c ORDER BY n) AS $c"
    arrays+="${arrays:+, }a.$c"
  done
  local arrays_cte="WITH a AS (SELECT $aggregated FROM public.stage WHERE n > :lo AND n <= :hi)"
  if [[ ${2:-on} == server009* ]]; then
    # caliper.write_events as migration 009 defined it (from git), the reference of the runs
    # after 010 made it find its keys through caliper.text_keys.
    local def009
    def009=$(git show 544f5d1:sql/009_event_texts.sql | sed -n '/^CREATE FUNCTION caliper.write_events/,/^\$fn\$;/p' | sed 's/^CREATE FUNCTION/CREATE OR REPLACE FUNCTION/')
    [[ -n $def009 ]] || { echo "server009 needs the git history (commit 544f5d1)" >&2; exit 1; }
    q "$db" -c "$def009"
  fi
  if [[ ${2:-on} == server* ]]; then
    insert="$arrays_cte SELECT count(*) FROM a, caliper.write_events($arrays, '{}', '{}', '{}', '{}') \\g /dev/null"
  elif [[ ${2:-on} == arrays* ]]; then
    # The writer's statement before 009, unnesting the arrays into the wide rows.
    insert="$arrays_cte INSERT INTO caliper.event_rows ($names) SELECT u.* FROM a, unnest($arrays) AS u ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null"
  elif [[ ${2:-on} == keys* || ${2:-on} == tails* || ${2:-on} == users* ]]; then
    # The writer's statement since 010: the keys it holds in memory (asked of caliper.text_keys
    # here before the clock starts: a writer asks once per text and 6 hours), one plain
    # INSERT with the rejects' CTE. The staging rows are rewritten in order after the UPDATEs
    # that add the keys: spread over twice the pages, reading them cost 4 µs more per event.
    q "$db" -c "SELECT count(*) FROM caliper.text_keys(ARRAY(SELECT DISTINCT v FROM public.stage, LATERAL (VALUES (user_agent), (ed_app_id), (sensor), (CASE WHEN actor_id <> user_id THEN actor_id END)) AS x(v) WHERE v IS NOT NULL))" \
      -c "ALTER TABLE public.stage ADD actor_ref bigint, ADD user_agent_ref bigint, ADD ed_app_ref bigint, ADD sensor_ref bigint" \
      -c "UPDATE public.stage AS s SET actor_ref = CASE WHEN s.actor_id <> s.user_id THEN (SELECT id FROM caliper.texts WHERE digest = caliper.text_digest(s.actor_id)) END, user_agent_ref = (SELECT id FROM caliper.texts WHERE digest = caliper.text_digest(s.user_agent)), ed_app_ref = (SELECT id FROM caliper.texts WHERE digest = caliper.text_digest(s.ed_app_id)), sensor_ref = (SELECT id FROM caliper.texts WHERE digest = caliper.text_digest(s.sensor))" \
      -c "CLUSTER public.stage USING stage_n_idx" -c "ANALYZE public.stage"
    local knames="event_id, source, action, event_time, user_id, user_lms_id, user_external_id, session_id, session_name, ip_address, received_at, actor_ref, user_agent_ref, ed_app_ref, sensor_ref"
    if [[ ${2:-on} == tails* || ${2:-on} == users* ]]; then
      # Since 011 the writer also sends the session IRI as its prefix's key and its tail, and
      # the name only when it is not the tail.
      q "$db" -c "SELECT count(*) FROM caliper.text_keys(ARRAY(SELECT DISTINCT substring(session_id FROM '^(.*/)') FROM public.stage))" \
        -c "ALTER TABLE public.stage ADD session_prefix_ref bigint, ADD session_tail text, ADD session_name_is_tail boolean" \
        -c "UPDATE public.stage AS s SET session_prefix_ref = (SELECT id FROM caliper.texts WHERE digest = caliper.text_digest(substring(s.session_id FROM '^(.*/)'))), session_tail = substring(s.session_id FROM '[^/]*\$'), session_name_is_tail = CASE WHEN s.session_id IS NOT NULL THEN s.session_name IS NOT DISTINCT FROM substring(s.session_id FROM '[^/]*\$') END" \
        -c "UPDATE public.stage SET session_id = NULL, session_name = CASE WHEN session_name_is_tail THEN NULL ELSE session_name END" \
        -c "CLUSTER public.stage USING stage_n_idx" -c "ANALYZE public.stage"
      knames="event_id, source, action, event_time, user_id, user_lms_id, user_external_id, session_tail, session_name, ip_address, received_at, actor_ref, user_agent_ref, ed_app_ref, sensor_ref, session_prefix_ref, session_name_is_tail"
    fi
    if [[ ${2:-on} == users* ]]; then
      # Since 012 the user IRI is a key too.
      q "$db" -c "SELECT count(*) FROM caliper.text_keys(ARRAY(SELECT DISTINCT user_id FROM public.stage))" \
        -c "ALTER TABLE public.stage ADD user_ref bigint" \
        -c "UPDATE public.stage AS s SET user_ref = (SELECT id FROM caliper.texts WHERE digest = caliper.text_digest(s.user_id)), user_id = NULL" \
        -c "CLUSTER public.stage USING stage_n_idx" -c "ANALYZE public.stage"
      knames=${knames/user_id,/user_ref,}
    fi
    aggregated="" arrays=""
    for c in ${knames//,/}; do
      aggregated+="${aggregated:+, }array_agg($c ORDER BY n) AS $c"
      arrays+="${arrays:+, }a.$c"
    done
    insert="WITH a AS (SELECT $aggregated FROM public.stage WHERE n > :lo AND n <= :hi), rejects AS (INSERT INTO caliper.rejected_events (received_at, source, reason, raw) SELECT * FROM unnest('{}'::timestamptz[], '{}'::text[], '{}'::text[], '{}'::text[])) INSERT INTO caliper.event_rows ($knames) SELECT u.* FROM a, unnest($arrays) AS u ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null"
  fi
  log "$db: inserting"
  timing=$(timed_batches "$db" "$insert" "$fold" "$fold_every")
  q "$db" -c "VACUUM ANALYZE caliper.event_rows, $(q "$db" -c "SELECT $sessions_rel")"
  log "$db: updates of the sessions, HOT of all: $(q "$db" -c "SELECT n_tup_hot_upd || ' of ' || n_tup_upd FROM pg_stat_user_tables WHERE relid = $sessions_rel")"
  # The sessions as analysts see them, to compare the layouts that keep them the same way.
  digest[$db]=$(q "$db" -c "SELECT count(*) || ' ' || md5(string_agg((source, session_id, user_id, user_external_id, started_at, ended_at, end_reason, first_event_at, last_event_at)::text, ',' ORDER BY source, session_id)) FROM caliper.sessions AS s")
  size=$(q "$db" -c "SELECT (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'caliper.event_rows'::regclass), pg_total_relation_size($sessions_rel), coalesce(pg_total_relation_size(to_regclass('caliper.texts')), 0)" | tr '|' ' ')
}

# The pieces of SQL the compact layouts share, over a CTE b of keyed rows: the merge of a
# batch's events into their sessions (the rules of sql/003, on integer keys), as the aggregates
# after a session's key and the update of a session that is there already; the events' insert.
merge_aggregates=$(cat <<'SQL'
min(session_name),
         (array_agg(user_id ORDER BY action <> 'LoggedIn', event_time, user_id))[1],
         min(user_external_id),
         min(event_time) FILTER (WHERE action = 'LoggedIn'),
         min(event_time) FILTER (WHERE action <> 'LoggedIn'),
         COALESCE((array_agg(CASE action WHEN 'LoggedOut' THEN 'L' ELSE 'T' END::"char" ORDER BY event_time, action <> 'LoggedOut') FILTER (WHERE action <> 'LoggedIn'))[1], 'o'),
         min(event_time), max(event_time)
SQL
)
merge_set=$(cat <<'SQL'
    started_at = LEAST(t.started_at, EXCLUDED.started_at),
    user_id = CASE WHEN EXCLUDED.started_at < t.started_at OR t.started_at IS NULL AND EXCLUDED.started_at IS NOT NULL THEN EXCLUDED.user_id ELSE t.user_id END,
    user_external_id = COALESCE(t.user_external_id, EXCLUDED.user_external_id),
    ended_at = LEAST(t.ended_at, EXCLUDED.ended_at),
    end_reason = CASE WHEN t.ended_at IS NULL OR EXCLUDED.ended_at < t.ended_at THEN EXCLUDED.end_reason ELSE t.end_reason END,
    first_event_at = LEAST(t.first_event_at, EXCLUDED.first_event_at),
    last_event_at = GREATEST(t.last_event_at, EXCLUDED.last_event_at)
SQL
)
events_insert="INSERT INTO cx.events (event_time, received_at, session, event_id, actor, user_id, user_lms_id, user_external_id, user_agent, ed_app, sensor, source, action, ip_address)"
events_select() {  # $1 the session key's expression
  echo "SELECT b.event_time, b.received_at, $1, b.event_id, b.actor, b.user_id, b.user_lms_id, b.user_external_id, b.user_agent, b.ed_app, b.sensor, b.source, b.action, b.ip_address"
}

# --- compact: the prototype ------------------------------------------------------------------------
# $1 database, $2 "off" to insert the events alone (no sessions: the cost of the sessions), or
# "split": sessions kept insert-only (below).
run_compact() {
  local db=$1
  fresh_db "$db"
sed "s/FILLFACTOR/$fillfactor/" <<'SQL' | q "$db"
CREATE SCHEMA cx;
-- Every long repeated value once; the writer would cache value -> id in memory.
CREATE TABLE cx.texts (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, value text NOT NULL UNIQUE);
CREATE TABLE cx.sources (id smallint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE);
CREATE TABLE cx.sessions (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  started_at       timestamptz,
  ended_at         timestamptz,
  first_event_at   timestamptz NOT NULL,
  last_event_at    timestamptz NOT NULL,
  user_id          integer     NOT NULL,
  user_external_id integer,
  source           smallint    NOT NULL,
  end_reason       "char"      NOT NULL DEFAULT 'o',  -- o open, L LoggedOut, T TimedOut
  session_prefix   integer     NOT NULL,  -- the IRI up to its last '/', in the dictionary
  session_tail     text        NOT NULL,  -- the rest: the session's own part
  session_name     text
) WITH (fillfactor = FILLFACTOR);
CREATE UNIQUE INDEX sessions_key ON cx.sessions (source, session_prefix, session_tail);
CREATE INDEX ON cx.sessions (started_at);
CREATE INDEX ON cx.sessions (user_id);
\i bench/compact_events.sql
CREATE INDEX ON ONLY cx.events USING brin (event_time);
CREATE INDEX ON cx.events_default USING brin (event_time);
CREATE UNLOGGED TABLE public.stage (LIKE caliper.session_events, n bigint);
SQL
q "$db" -c "\\copy public.stage FROM '$work/stage.tsv'"
# The warm cache: every value's key resolved before the timing (the writer would send integers).
q "$db" <<'SQL'
INSERT INTO cx.sources (name) SELECT DISTINCT source FROM public.stage;
INSERT INTO cx.texts (value)
  SELECT DISTINCT v FROM public.stage,
    LATERAL (VALUES (actor_id), (user_id), (user_lms_id), (user_external_id), (user_agent),
                    (ed_app_id), (sensor), (regexp_replace(session_id, '[^/]*$', ''))) x(v)
  WHERE v IS NOT NULL;
CREATE UNLOGGED TABLE public.keyed AS
  SELECT s.n, s.event_id, so.id AS source, s.action, s.event_time, a.id AS actor, u.id AS user_id,
         l.id AS user_lms_id, x.id AS user_external_id, sp.id AS session_prefix,
         substring(s.session_id from '[^/]*$') AS session_tail, s.session_name,
         hashtextextended(so.id || ' ' || s.session_id, 0) AS session_hash,
         ua.id AS user_agent, s.ip_address, e.id AS ed_app, se.id AS sensor, s.received_at
  FROM public.stage s
  JOIN cx.sources so ON so.name = s.source
  JOIN cx.texts a ON a.value = s.actor_id
  JOIN cx.texts u ON u.value = s.user_id
  LEFT JOIN cx.texts l ON l.value = s.user_lms_id
  LEFT JOIN cx.texts x ON x.value = s.user_external_id
  LEFT JOIN cx.texts sp ON sp.value = regexp_replace(s.session_id, '[^/]*$', '')
  LEFT JOIN cx.texts ua ON ua.value = s.user_agent
  LEFT JOIN cx.texts e ON e.value = s.ed_app_id
  JOIN cx.texts se ON se.value = s.sensor;
CREATE UNIQUE INDEX ON public.keyed (n);
VACUUM ANALYZE public.keyed, cx.texts, cx.sources;
SQL
  if [[ ${2:-on} == hash || ${2:-on} == fold ]]; then
    # The same table, keyed by a 64-bit hash of (source, IRI) that the writer computes instead
    # of a sequence: no lookup by text, no unique index on the IRI. (A real design must detect a
    # collision: the row keeps the IRI, and a different one under the same key needs another key.)
    q "$db" -c "ALTER TABLE cx.sessions ALTER COLUMN id DROP IDENTITY" -c "DROP INDEX cx.sessions_key"
  fi
  if [[ ${2:-on} == split ]]; then
    # Insert-only sessions: the session's identity once (never updated), its start and its end
    # in tables of their own, each written once and updated only when an earlier one arrives
    # later (rare). caliper.sessions would be a view joining the three (first_event_at and
    # last_event_at left out of this prototype).
    q "$db" <<'SQL'
DROP TABLE cx.sessions;
CREATE TABLE cx.sessions (
  id             bigint   GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  source         smallint NOT NULL,
  session_prefix integer  NOT NULL,
  session_tail   text     NOT NULL,
  session_name   text
);
CREATE UNIQUE INDEX sessions_key ON cx.sessions (source, session_prefix, session_tail);
CREATE TABLE cx.session_starts (
  session          bigint      PRIMARY KEY,
  started_at       timestamptz NOT NULL,
  user_id          integer     NOT NULL,
  user_external_id integer
);
CREATE INDEX ON cx.session_starts (started_at);
CREATE INDEX ON cx.session_starts (user_id);
CREATE TABLE cx.session_ends (
  session    bigint      PRIMARY KEY,
  ended_at   timestamptz NOT NULL,
  end_reason "char"      NOT NULL
);
SQL
  fi
log "$db: inserting"
# One statement per batch: the batch's sessions merged (the rules of sql/003, on integer keys),
# then its events with their sessions' keys.
if [[ ${2:-on} == hash ]]; then
    timing=$(timed_batches "$db" "WITH b AS (SELECT * FROM public.keyed WHERE n > :lo AND n <= :hi),
s AS (
  INSERT INTO cx.sessions AS t (id, source, session_prefix, session_tail, session_name, user_id, user_external_id, started_at, ended_at, end_reason, first_event_at, last_event_at)
  SELECT session_hash, source, session_prefix, session_tail, $merge_aggregates
  FROM b WHERE session_tail IS NOT NULL GROUP BY session_hash, source, session_prefix, session_tail
  ORDER BY session_hash
  ON CONFLICT (id) DO UPDATE SET
$merge_set)
$events_insert
$(events_select b.session_hash)
FROM b ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null")
  elif [[ ${2:-on} == fold ]]; then
    timing=$(timed_batches "$db" "WITH b AS (SELECT * FROM public.keyed WHERE n > :lo AND n <= :hi)
$events_insert
$(events_select b.session_hash)
FROM b ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null" "WITH b AS (SELECT * FROM public.keyed WHERE n > :flo AND n <= :fhi)
INSERT INTO cx.sessions AS t (id, source, session_prefix, session_tail, session_name, user_id, user_external_id, started_at, ended_at, end_reason, first_event_at, last_event_at)
  SELECT session_hash, source, session_prefix, session_tail, $merge_aggregates
  FROM b WHERE session_tail IS NOT NULL GROUP BY session_hash, source, session_prefix, session_tail
  ORDER BY session_hash
  ON CONFLICT (id) DO UPDATE SET
$merge_set;" "$fold_every")
  elif [[ ${2:-on} == split ]]; then
    timing=$(timed_batches "$db" "WITH b AS (SELECT * FROM public.keyed WHERE n > :lo AND n <= :hi),
k AS (SELECT source, session_prefix, session_tail, min(session_name) AS session_name FROM b
      WHERE session_tail IS NOT NULL GROUP BY source, session_prefix, session_tail),
ins AS (INSERT INTO cx.sessions (source, session_prefix, session_tail, session_name)
        SELECT * FROM k ORDER BY source, session_prefix, session_tail
        ON CONFLICT DO NOTHING RETURNING id, source, session_prefix, session_tail),
ids AS (SELECT * FROM ins
        UNION ALL
        SELECT s.id, s.source, s.session_prefix, s.session_tail FROM k JOIN cx.sessions s USING (source, session_prefix, session_tail)),
st AS (INSERT INTO cx.session_starts AS t (session, started_at, user_id, user_external_id)
       SELECT DISTINCT ON (ids.id) ids.id, b.event_time, b.user_id, b.user_external_id
       FROM b JOIN ids USING (source, session_prefix, session_tail) WHERE b.action = 'LoggedIn'
       ORDER BY ids.id, b.event_time, b.user_id
       ON CONFLICT (session) DO UPDATE SET started_at = EXCLUDED.started_at, user_id = EXCLUDED.user_id,
         user_external_id = EXCLUDED.user_external_id WHERE EXCLUDED.started_at < t.started_at),
en AS (INSERT INTO cx.session_ends AS t (session, ended_at, end_reason)
       SELECT DISTINCT ON (ids.id) ids.id, b.event_time, CASE b.action WHEN 'LoggedOut' THEN 'L' ELSE 'T' END::\"char\"
       FROM b JOIN ids USING (source, session_prefix, session_tail) WHERE b.action <> 'LoggedIn'
       ORDER BY ids.id, b.event_time, b.action <> 'LoggedOut'
       ON CONFLICT (session) DO UPDATE SET ended_at = EXCLUDED.ended_at, end_reason = EXCLUDED.end_reason
         WHERE EXCLUDED.ended_at < t.ended_at)
$events_insert
$(events_select ids.id)
FROM b LEFT JOIN ids USING (source, session_prefix, session_tail)
ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null")
  elif [[ ${2:-on} == off ]]; then
    timing=$(timed_batches "$db" "WITH b AS (SELECT * FROM public.keyed WHERE n > :lo AND n <= :hi)
$events_insert
$(events_select NULL)
FROM b ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null")
  else
    timing=$(timed_batches "$db" "WITH b AS (SELECT * FROM public.keyed WHERE n > :lo AND n <= :hi),
s AS (
  INSERT INTO cx.sessions AS t (source, session_prefix, session_tail, session_name, user_id, user_external_id, started_at, ended_at, end_reason, first_event_at, last_event_at)
  SELECT source, session_prefix, session_tail, $merge_aggregates
  FROM b WHERE session_tail IS NOT NULL GROUP BY source, session_prefix, session_tail
  ORDER BY source, session_prefix, session_tail  -- one lock order for concurrent batches
  ON CONFLICT (source, session_prefix, session_tail) DO UPDATE SET
$merge_set
  RETURNING id, source, session_prefix, session_tail)
$events_insert
$(events_select s.id)
FROM b LEFT JOIN s ON s.source = b.source AND s.session_prefix = b.session_prefix AND s.session_tail = b.session_tail
ON CONFLICT DO NOTHING RETURNING event_id, event_time \\g /dev/null")
  fi
q "$db" -c "VACUUM ANALYZE cx.events, cx.sessions"
log "$db: updates of cx.sessions, HOT of all: $(q "$db" -c "SELECT n_tup_hot_upd || ' of ' || n_tup_upd FROM pg_stat_user_tables WHERE relid = 'cx.sessions'::regclass")"
local sessions="pg_total_relation_size('cx.sessions')"
  [[ ${2:-on} == split ]] && sessions="$sessions + pg_total_relation_size('cx.session_starts') + pg_total_relation_size('cx.session_ends')"
  size=$(q "$db" -c "SELECT pg_total_relation_size('cx.events_default'), $sessions, pg_total_relation_size('cx.texts') + pg_total_relation_size('cx.sources')" | tr '|' ' ')
  local want_null=0
  [[ ${2:-on} == off ]] && want_null=$rows
  check=$(q "$db" -c "SELECT (SELECT count(*) FROM cx.events) = $rows AND (SELECT count(*) FROM cx.events WHERE session IS NULL) = $want_null")
  [[ $check == t ]] || { echo "$db: the prototype lost rows or sessions" >&2; exit 1; }
}

declare -A timings sizes digest
layouts=${CALIPER_COMPACT_LAYOUTS:-wide wide_nosessions compact compact_nosessions compact_split compact_hash compact_fold}
for layout in $layouts; do
  case $layout in
    wide) run_wide wide on ;;
    wide_nosessions) run_wide wide_nosessions off ;;
    wide_staged) run_wide wide_staged staged ;;
    wide_fold) run_wide wide_fold fold ;;
    wide_hash) run_wide wide_hash hash ;;
    server) run_wide server server ;;
    server_nosessions) run_wide server_nosessions server_off ;;
    arrays) run_wide arrays arrays ;;
    arrays_nosessions) run_wide arrays_nosessions arrays_off ;;
    keys) run_wide keys keys ;;
    keys_nosessions) run_wide keys_nosessions keys_off ;;
    tails) run_wide tails tails ;;
    tails_nosessions) run_wide tails_nosessions tails_off ;;
    users) run_wide users users ;;
    users_nosessions) run_wide users_nosessions users_off ;;
    users012) run_wide users012 users 12 ;;
    users012_nosessions) run_wide users012_nosessions users_off 12 ;;
    server009) run_wide server009 server009 ;;
    server009_nosessions) run_wide server009_nosessions server009_off ;;
    compact) run_compact compact on ;;
    compact_nosessions) run_compact compact_nosessions off ;;
    compact_split) run_compact compact_split split ;;
    compact_hash) run_compact compact_hash hash ;;
    compact_fold) run_compact compact_fold fold ;;
  esac
  timings[$layout]=$timing
  sizes[$layout]=$size
done
for other in wide_staged wide_fold wide_hash; do
  [[ -n ${digest[wide]:-} && -n ${digest[$other]:-} ]] || continue
  [[ ${digest[wide]} == "${digest[$other]}" ]] || { echo "$other's sessions differ from wide's: ${digest[$other]} against ${digest[wide]}" >&2; exit 1; }
  log "$other: the same ${digest[wide]%% *} sessions as wide"
done
if [[ -n ${digest[users]:-} && -n ${digest[users012]:-} ]]; then
  [[ ${digest[users]} == "${digest[users012]}" ]] || { echo "users' sessions differ from users012's: ${digest[users]} against ${digest[users012]}" >&2; exit 1; }
  log "users: the same ${digest[users]%% *} sessions as users012 (caliper.sessions a table)"
fi
echo "| layout | rows | rows/s | backend CPU µs/event | events B/event | sessions B/event | dictionary B/event | total B/event |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for layout in $layouts; do report "$layout" "${timings[$layout]}" "${sizes[$layout]}"; done
for layout in wide wide_nosessions compact compact_nosessions compact_split; do
  [[ -n ${timings[$layout]:-} ]] || exit 0  # the summary compares these five
done
python3 - "${timings[wide]}" "${timings[wide_nosessions]}" "${timings[compact]}" "${timings[compact_nosessions]}" "${timings[compact_split]}" <<'PY'
import sys
cpu = [float(a.split()[1]) for a in sys.argv[1:]]
print(f"sessions' cost (CPU with / without, minus 1): wide {cpu[0]/cpu[1]-1:+.0%}, compact {cpu[2]/cpu[3]-1:+.0%}, "
      f"compact_split {cpu[4]/cpu[3]-1:+.0%}; against wide with sessions: compact {cpu[2]/cpu[0]-1:+.0%}, "
      f"compact_split {cpu[4]/cpu[0]-1:+.0%} CPU per event")
PY

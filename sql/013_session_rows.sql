-- The compact storage, step 5 (issue 12 item 3): caliper.sessions stores keys. A session row
-- held its IRI (~100 bytes), its user's IRI (~60-130) and its end reason as text, and both IRIs
-- again in its indexes: with the 50% free space that keeps its update HOT (008), about 470-530
-- bytes per event, two thirds of all. caliper.session_rows keeps the session IRI as the key of
-- its prefix in caliper.texts and its tail (as the event rows do since 011), the user as a key
-- (as since 012), the end reason as one byte and no stored duration. caliper.sessions is a view
-- over it with the same columns, comments and grants as the table had.
--
-- The trigger (003) now takes the keys of the event rows as they are, so it no longer looks up
-- texts for the rows the server writes (012's per-row lookup of the user, and 011's of the
-- prefix, are gone). Rows with texts in place (caliper.write_events, inserts into
-- caliper.session_events, servers of an older version) get their keys from caliper.text_keys,
-- in the trigger. The merge rules are 003's.
--
-- A session IRI's key is canonical: (source, key of the IRI up to and including its last '/',
-- the rest); 0 for the prefix when the IRI has no '/' or ends with one (then the tail is the
-- whole IRI), as the server's writer cuts it (encode::split_iri). caliper.texts holds one key
-- per text, and prune_texts and forget_texts now keep every text that a session row uses.
--
-- The rows of the table are moved here, in this migration's transaction: about 30 s per million
-- sessions on 2 cores (bench/README.md, "caliper.sessions as keys"), during which
-- inserts of events wait (a server in journal mode keeps acknowledging). DELETE on the view
-- (a `forget` binary of the version before, scripts) deletes the rows it matches.
--
-- Locks, under the runner's 5 s lock_timeout, held until the commit: ACCESS EXCLUSIVE on the view
-- caliper.session_events and what it reads (caliper.event_rows, its partitions, caliper.texts),
-- so writers, caliper.text_keys and queries of the events wait for the move; then on the views
-- over caliper.sessions and the table. caliper.session_events first: a writer holds
-- caliper.event_rows from the start of its insert and takes caliper.sessions only in the trigger
-- at its end, so taking caliper.sessions first deadlocks with it (a view's lock takes the tables
-- it reads). A query on the views over caliper.sessions does not read the events.

LOCK TABLE caliper.session_events, caliper.concurrent_sessions, caliper.session_end_reasons,
           caliper.sessions IN ACCESS EXCLUSIVE MODE;

-- The trigger takes a row's prefix key and tail as the session's key, so they must be cut as
-- caliper.split_session_iri cuts (else one IRI could make two sessions): no '/' in the tail,
-- and no empty tail after a prefix (an IRI that ends with '/' is kept whole). Every writer
-- since 011 cuts so; a row that does not is refused (23514; the writer keeps it as a reject).
-- New rows only (NOT VALID), as 012's check.
ALTER TABLE caliper.event_rows ADD CONSTRAINT event_rows_session_tail_check
  CHECK (session_tail IS NULL
         OR (strpos(session_tail, '/') = 0 AND (session_prefix_ref IS NULL OR session_tail <> ''))) NOT VALID;

-- The table is dropped at the end: a view of someone else's over it would stop the migration
-- there, after the move. Say so first.
DO $do$
DECLARE
  others text;
BEGIN
  SELECT string_agg(DISTINCT r.ev_class::regclass::text, ', ') INTO others
  FROM pg_depend AS d JOIN pg_rewrite AS r ON r.oid = d.objid
  WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = 'caliper.sessions'::regclass
    AND r.ev_class NOT IN ('caliper.sessions'::regclass, 'caliper.concurrent_sessions'::regclass,
                           'caliper.session_end_reasons'::regclass);
  IF others IS NOT NULL THEN
    RAISE EXCEPTION 'migration 013 turns the table caliper.sessions into a view, and % depend on the table: drop them first and make them again after (their text is the same)', others;
  END IF;
END
$do$;

-- A session IRI cut as the server's writer cuts it (encode::split_iri): the prefix up to and
-- including the last '/', and the rest; no prefix (NULL) and the whole IRI as tail when there
-- is no '/' or the IRI ends with one. One row, always. A set-returning SQL function without
-- SET options, so that the planner inlines it (this one and the next: they name every object
-- with its schema and use only built-in functions besides).
CREATE FUNCTION caliper.split_session_iri(iri text) RETURNS TABLE (prefix text, tail text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE ROWS 1
AS $fn$
  SELECT CASE WHEN p > 1 THEN left(iri, length(iri) - p + 1) END,
         CASE WHEN p > 1 THEN right(iri, p - 1) ELSE iri END
  FROM (SELECT strpos(reverse(iri), '/') AS p) AS s
$fn$;
COMMENT ON FUNCTION caliper.split_session_iri(text) IS
  'A session IRI as caliper.session_rows keys it: the prefix up to and including its last ''/'' (NULL when it has none or ends with one) and the rest (then the whole IRI)';

-- The key of a session IRI in caliper.session_rows, without adding texts: prefix_ref 0 when
-- the IRI has no prefix, NULL when its prefix is not in caliper.texts (no session has it).
CREATE FUNCTION caliper.session_key(iri text) RETURNS TABLE (prefix_ref bigint, tail text)
LANGUAGE sql STABLE ROWS 1
AS $fn$
  SELECT CASE WHEN s.prefix IS NULL THEN 0
              ELSE (SELECT t.id FROM caliper.texts AS t WHERE t.digest = caliper.text_digest(s.prefix)) END,
         s.tail
  FROM caliper.split_session_iri(iri) AS s
$fn$;
COMMENT ON FUNCTION caliper.session_key(text) IS
  'The (session_prefix_ref, session_tail) of a session IRI in caliper.session_rows; prefix_ref NULL when its prefix is not in caliper.texts';

-- Fixed-width columns first, so that no padding comes between them.
CREATE TABLE caliper.session_rows (
  session_prefix_ref bigint      NOT NULL,
  user_ref           bigint      NOT NULL,
  first_event_at     timestamptz NOT NULL,
  last_event_at      timestamptz NOT NULL,
  started_at         timestamptz,
  ended_at           timestamptz,
  end_reason         "char"      NOT NULL DEFAULT 'o',
  source             text        NOT NULL,
  session_tail       text        NOT NULL,
  user_external_id   text,
  -- The IRI's key first: a session is found by it without its source too.
  CONSTRAINT session_rows_pkey PRIMARY KEY (session_prefix_ref, session_tail, source),
  CONSTRAINT session_rows_end_reason_check
    CHECK (end_reason IN ('L', 'T', 'o') AND (end_reason = 'o') = (ended_at IS NULL))
) WITH (fillfactor = 50);  -- room for the HOT update that a logout makes (008)

COMMENT ON TABLE caliper.session_rows IS
  'The rows behind caliper.sessions (read that view): one per session, kept by the trigger on caliper.event_rows. Long values are keys into caliper.texts.';
COMMENT ON COLUMN caliper.session_rows.session_prefix_ref IS
  'the session IRI up to and including its last ''/'', in caliper.texts; 0 when the IRI has no ''/'' or ends with one (see caliper.split_session_iri)';
COMMENT ON COLUMN caliper.session_rows.session_tail IS 'the session IRI after its last ''/'' (the whole IRI when session_prefix_ref is 0)';
COMMENT ON COLUMN caliper.session_rows.user_ref IS 'the user IRI in caliper.texts (caliper.sessions.user_id)';
COMMENT ON COLUMN caliper.session_rows.end_reason IS 'L LoggedOut, T TimedOut, o open (caliper.sessions.end_reason)';
COMMENT ON COLUMN caliper.session_rows.source IS 'caliper.sessions.source';
COMMENT ON COLUMN caliper.session_rows.user_external_id IS 'caliper.sessions.user_external_id';
COMMENT ON COLUMN caliper.session_rows.started_at IS 'caliper.sessions.started_at';
COMMENT ON COLUMN caliper.session_rows.ended_at IS 'caliper.sessions.ended_at';
COMMENT ON COLUMN caliper.session_rows.first_event_at IS 'caliper.sessions.first_event_at';
COMMENT ON COLUMN caliper.session_rows.last_event_at IS 'caliper.sessions.last_event_at (used by retention)';

-- The rows of the table, keyed. Their texts first (added when new, marked resolved), then one
-- insert joining them by value.
CREATE TEMP TABLE session_keys ON COMMIT DROP AS
SELECT k.id, k.value
FROM caliper.text_keys(ARRAY(SELECT DISTINCT v.t
                             FROM caliper.sessions AS s
                             CROSS JOIN LATERAL caliper.split_session_iri(s.session_id) AS sp
                             CROSS JOIN LATERAL (VALUES (sp.prefix), (s.user_id)) AS v(t)
                             WHERE v.t IS NOT NULL)) AS k;
ANALYZE session_keys;

INSERT INTO caliper.session_rows (session_prefix_ref, user_ref, first_event_at, last_event_at,
                                  started_at, ended_at, end_reason, source, session_tail,
                                  user_external_id)
SELECT coalesce(p.id, 0), u.id, s.first_event_at, s.last_event_at, s.started_at, s.ended_at,
       CASE s.end_reason WHEN 'LoggedOut' THEN 'L' WHEN 'TimedOut' THEN 'T' ELSE 'o' END,
       s.source, sp.tail, s.user_external_id
FROM caliper.sessions AS s
CROSS JOIN LATERAL caliper.split_session_iri(s.session_id) AS sp
LEFT JOIN session_keys AS p ON p.value = sp.prefix
JOIN session_keys AS u ON u.value = s.user_id
WHERE sp.prefix IS NULL OR p.id IS NOT NULL
ORDER BY s.first_event_at;  -- the order the trigger makes them in: a day's sessions share pages

DO $do$
BEGIN
  IF (SELECT count(*) FROM caliper.session_rows) <> (SELECT count(*) FROM caliper.sessions) THEN
    RAISE EXCEPTION 'caliper.sessions: not every row was moved to caliper.session_rows';
  END IF;
END
$do$;

CREATE INDEX session_rows_started_at_idx ON caliper.session_rows (started_at);
-- A user's sessions (forget; an analyst's question): a btree on the key, whose repeats are
-- stored once per page (deduplication).
CREATE INDEX session_rows_user_ref_idx ON caliper.session_rows (user_ref);
ANALYZE caliper.session_rows;

-- A question by user IRI on caliper.sessions (`WHERE user_id = ...`, which the table's hash
-- index on user_id answered) finds the text's key by this index, then the rows by theirs. A
-- hash index: some texts (user agents) are longer than a btree entry may be. caliper.texts is
-- small (a row per user and per client): a few MB.
CREATE INDEX texts_value_idx ON caliper.texts USING hash (value);

-- The table gives its name to the view. The views of 005 are re-made over the view with the
-- same text (CREATE OR REPLACE keeps their comments and grants), then the table goes.
ALTER TABLE caliper.sessions RENAME TO sessions_before_013;

CREATE VIEW caliper.sessions AS
SELECT s.source,
       CASE WHEN s.session_prefix_ref = 0 THEN s.session_tail ELSE p.value || s.session_tail END AS session_id,
       u.value AS user_id, s.user_external_id, s.started_at, s.ended_at,
       CASE s.end_reason WHEN 'L' THEN 'LoggedOut' WHEN 'T' THEN 'TimedOut' ELSE 'open' END AS end_reason,
       s.ended_at - s.started_at AS duration,
       s.first_event_at, s.last_event_at
FROM caliper.session_rows AS s
LEFT JOIN caliper.texts AS p ON p.id = s.session_prefix_ref
LEFT JOIN caliper.texts AS u ON u.id = s.user_ref;

-- The table's comments (005), on the view.
COMMENT ON VIEW caliper.sessions IS
  'One row per session (source, session_id), kept up to date by a trigger in the transaction that stores its events; right whatever order the events arrive in. Events without a session_id are not in it. Stored in caliper.session_rows.';
DO $do$
DECLARE
  col record;
BEGIN
  FOR col IN
    SELECT a.attname, col_description(a.attrelid, a.attnum) AS note
    FROM pg_attribute AS a
    WHERE a.attrelid = 'caliper.sessions_before_013'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('COMMENT ON COLUMN caliper.sessions.%I IS %L', col.attname, col.note);
  END LOOP;
END
$do$;
GRANT SELECT ON caliper.sessions, caliper.session_rows TO caliper_analyst;
-- And what else the table granted (to other roles: a BI tool's), on the view.
DO $do$
DECLARE
  g record;
BEGIN
  FOR g IN
    SELECT a.grantee, a.privilege_type, a.is_grantable
    FROM pg_class AS c, aclexplode(c.relacl) AS a
    WHERE c.oid = 'caliper.sessions_before_013'::regclass AND a.grantee <> c.relowner
      AND a.privilege_type IN ('SELECT', 'DELETE')
  LOOP
    EXECUTE format('GRANT %s ON caliper.sessions TO %s%s', g.privilege_type,
                   CASE WHEN g.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(g.grantee::regrole::text) END,
                   CASE WHEN g.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
  END LOOP;
END
$do$;

CREATE OR REPLACE VIEW caliper.concurrent_sessions AS
WITH spans AS (
  SELECT started_at AS t0,
         coalesce(ended_at, least(now(), started_at + interval '24 hours')) AS t1
  FROM caliper.sessions
  WHERE started_at IS NOT NULL
), steps AS (
  SELECT t0 AS t, 1 AS d FROM spans WHERE t1 > t0
  UNION ALL
  SELECT t1, -1 FROM spans WHERE t1 > t0
  UNION ALL
  SELECT generate_series(date_trunc('hour', min(t0)), date_trunc('hour', max(t1)), interval '1 hour'), 0
  FROM spans WHERE t1 > t0
), levels AS (
  SELECT t, d, sum(d) OVER (ORDER BY t RANGE UNBOUNDED PRECEDING) AS online
  FROM steps
)
SELECT date_trunc('hour', t) AS hour,
       max(online) FILTER (WHERE d = 0) AS online_at_start,
       max(online) AS peak_online
FROM levels
GROUP BY 1;

CREATE OR REPLACE VIEW caliper.session_end_reasons AS
SELECT coalesce(started_at, ended_at)::date AS day,
       end_reason,
       count(*) AS sessions,
       count(*) FILTER (WHERE started_at IS NULL) AS without_login,
       avg(duration) AS avg_duration,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration) AS median_duration
FROM caliper.sessions
GROUP BY 1, 2;

DROP TABLE caliper.sessions_before_013;

-- DELETE FROM caliper.sessions keeps working (a forget binary of the version before, scripts):
-- each row it matches is deleted from caliper.session_rows, unless a batch changed it since it
-- was read. INSERT and UPDATE on the view do not work (only the trigger writes sessions). Row
-- by row: the server's own deletes (retention, forget) go to caliper.session_rows directly.
CREATE FUNCTION caliper.sessions_delete() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  DELETE FROM caliper.session_rows AS s
  USING caliper.session_key(OLD.session_id) AS k
  WHERE s.session_prefix_ref = k.prefix_ref AND s.session_tail = k.tail AND s.source = OLD.source
    -- As read: a session that a concurrent batch changed meanwhile is left (the DELETE's
    -- condition cannot be checked again on the view's row).
    AND s.first_event_at = OLD.first_event_at AND s.last_event_at = OLD.last_event_at
    AND s.started_at IS NOT DISTINCT FROM OLD.started_at AND s.ended_at IS NOT DISTINCT FROM OLD.ended_at;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  RETURN OLD;
END
$fn$;
CREATE TRIGGER sessions_delete INSTEAD OF DELETE ON caliper.sessions
  FOR EACH ROW EXECUTE FUNCTION caliper.sessions_delete();

-- The trigger of 003 (rewritten by 011 and 012), keeping caliper.session_rows. Rows that the
-- server writes hold the keys already: their sessions are merged without reading caliper.texts
-- but for one probe per key that checks it has its text (a key without one stops the insert
-- with 23503, and the writer keeps the event as a reject, as since 011). The other rows (texts
-- in place) are keyed from their IRI cut as the writer cuts it: the texts found in caliper.texts
-- and asked for in the last hour as they are (no lock), the others through caliper.text_keys.
CREATE OR REPLACE FUNCTION caliper.sessions_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  mixed boolean;
  wanted text[];
  missing text[];
  key_ids bigint[];
  key_texts text[];
  dangling bigint;
  dangling_what text;
BEGIN
  -- The keys the rows hold: each has its text (the writer's memory of keys is bounded in time
  -- so that one always has, sql/012; this is the check).
  SELECT d.k, d.what INTO dangling, dangling_what
  FROM (SELECT DISTINCT v.k, v.what
        FROM new_events AS n,
             LATERAL (VALUES (n.user_ref, 'the user IRI'),
                             (n.session_prefix_ref, 'the session IRI''s prefix')) AS v(k, what)
        WHERE (n.session_id IS NOT NULL OR n.session_tail IS NOT NULL) AND v.k IS NOT NULL) AS d
  WHERE NOT EXISTS (SELECT FROM caliper.texts AS t WHERE t.id = d.k)
  LIMIT 1;
  IF dangling IS NOT NULL THEN
    PERFORM caliper.text_missing(dangling, dangling_what);
  END IF;

  mixed := EXISTS (SELECT FROM new_events AS n
                   WHERE (n.session_id IS NOT NULL OR n.session_tail IS NOT NULL)
                     AND (n.session_tail IS NULL OR n.user_ref IS NULL));
  IF mixed THEN
    SELECT array_agg(DISTINCT v.t) INTO wanted
    FROM new_events AS n
    CROSS JOIN LATERAL caliper.split_session_iri(CASE WHEN n.session_tail IS NULL THEN n.session_id END) AS sp
    CROSS JOIN LATERAL (VALUES (sp.prefix), (CASE WHEN n.user_ref IS NULL THEN n.user_id END)) AS v(t)
    WHERE (n.session_id IS NOT NULL OR n.session_tail IS NOT NULL) AND v.t IS NOT NULL;
    IF wanted IS NOT NULL THEN
      SELECT array_agg(t.id), array_agg(t.value) INTO key_ids, key_texts
      FROM caliper.texts AS t
      WHERE t.digest = ANY (ARRAY(SELECT caliper.text_digest(w) FROM unnest(wanted) AS w))
        AND t.resolved_at >= now() - interval '1 hour';
      missing := ARRAY(SELECT unnest(wanted) EXCEPT SELECT unnest(key_texts));
      IF cardinality(missing) > 0 THEN
        SELECT key_ids || array_agg(k.id), key_texts || array_agg(k.value) INTO key_ids, key_texts
        FROM caliper.text_keys(missing) AS k;
      END IF;
    END IF;
  END IF;

  WITH ev AS (
    SELECT n.source, coalesce(n.session_prefix_ref, 0) AS session_prefix_ref, n.session_tail,
           n.action, n.event_time, n.user_ref, n.user_external_id
    FROM new_events AS n
    WHERE n.session_tail IS NOT NULL AND n.user_ref IS NOT NULL
    UNION ALL
    SELECT n.source,
           CASE WHEN n.session_tail IS NULL THEN coalesce(kp.id, 0) ELSE coalesce(n.session_prefix_ref, 0) END,
           coalesce(n.session_tail, sp.tail), n.action, n.event_time, coalesce(n.user_ref, ku.id),
           n.user_external_id
    FROM new_events AS n
    CROSS JOIN LATERAL caliper.split_session_iri(CASE WHEN n.session_tail IS NULL THEN n.session_id END) AS sp
    LEFT JOIN unnest(key_ids, key_texts) AS kp(id, value) ON kp.value = sp.prefix
    LEFT JOIN unnest(key_ids, key_texts) AS ku(id, value) ON ku.value = n.user_id AND n.user_ref IS NULL
    WHERE mixed AND (n.session_id IS NOT NULL OR n.session_tail IS NOT NULL)
      AND (n.session_tail IS NULL OR n.user_ref IS NULL)
  ), ranked AS (
    -- How many events of the session share this one's instant and kind (LoggedIn or not): two
    -- users there are a tie, which goes to the smaller IRI, as in 003 (its text read only then).
    SELECT ev.*, count(*) OVER (PARTITION BY source, session_prefix_ref, session_tail,
                                             action <> 'LoggedIn', event_time) AS at_once
    FROM ev
  ), merged AS (
    -- One aggregate per session (003's span, anchor and ending were three, joined: the planner,
    -- which cannot estimate the groups of a transition table, sometimes joined them in a nested
    -- loop that read the batch once per session).
    SELECT source, session_prefix_ref, session_tail,
           min(event_time) FILTER (WHERE action = 'LoggedIn') AS started_at,
           min(event_time) AS first_event_at, max(event_time) AS last_event_at,
           (array_agg(user_ref ORDER BY action <> 'LoggedIn', event_time,
                      CASE WHEN at_once > 1 THEN (SELECT t.value FROM caliper.texts AS t WHERE t.id = user_ref) END,
                      user_ref))[1] AS user_ref,
           coalesce((array_agg(user_external_id ORDER BY action <> 'LoggedIn', event_time,
                               CASE WHEN at_once > 1 THEN (SELECT t.value FROM caliper.texts AS t WHERE t.id = user_ref) END,
                               user_ref))[1],
                    min(user_external_id)) AS user_external_id,
           min(event_time) FILTER (WHERE action <> 'LoggedIn') AS ended_at,
           (array_agg(CASE action WHEN 'LoggedOut' THEN 'L' ELSE 'T' END::"char" ORDER BY event_time, action)
              FILTER (WHERE action <> 'LoggedIn'))[1] AS end_reason
    FROM ranked
    GROUP BY source, session_prefix_ref, session_tail
  )
  INSERT INTO caliper.session_rows AS s (session_prefix_ref, user_ref, first_event_at,
                                         last_event_at, started_at, ended_at, end_reason,
                                         source, session_tail, user_external_id)
  SELECT session_prefix_ref, user_ref, first_event_at, last_event_at, started_at, ended_at,
         coalesce(end_reason, 'o'), source, session_tail, user_external_id
  FROM merged
  ORDER BY session_prefix_ref, session_tail, source  -- one lock order for concurrent batches
  ON CONFLICT (session_prefix_ref, session_tail, source) DO UPDATE SET
    (user_ref, user_external_id) =
      (SELECT CASE WHEN new_first THEN excluded.user_ref ELSE s.user_ref END,
              CASE WHEN new_first THEN coalesce(excluded.user_external_id, s.user_external_id)
                   ELSE coalesce(s.user_external_id, excluded.user_external_id) END
       FROM (SELECT CASE WHEN (excluded.started_at IS NULL, coalesce(excluded.started_at, excluded.first_event_at))
                              <> (s.started_at IS NULL, coalesce(s.started_at, s.first_event_at))
                         THEN (excluded.started_at IS NULL, coalesce(excluded.started_at, excluded.first_event_at))
                              < (s.started_at IS NULL, coalesce(s.started_at, s.first_event_at))
                         WHEN excluded.user_ref = s.user_ref THEN false
                         -- The same instant: the smaller IRI, as 003.
                         ELSE (SELECT t.value FROM caliper.texts AS t WHERE t.id = excluded.user_ref)
                              < (SELECT t.value FROM caliper.texts AS t WHERE t.id = s.user_ref) END
                    AS new_first) AS cmp),
    started_at = least(s.started_at, excluded.started_at),
    (ended_at, end_reason) =
      (SELECT CASE WHEN new_end THEN excluded.ended_at ELSE s.ended_at END,
              CASE WHEN new_end THEN excluded.end_reason ELSE s.end_reason END
       FROM (SELECT excluded.ended_at IS NOT NULL
                    AND (s.ended_at IS NULL
                         OR (excluded.ended_at, excluded.end_reason) < (s.ended_at, s.end_reason))
                    AS new_end) AS cmp),
    first_event_at = least(s.first_event_at, excluded.first_event_at),
    last_event_at = greatest(s.last_event_at, excluded.last_event_at);
  RETURN NULL;
END
$fn$;

-- Retention (002) deletes the old sessions from the table.
DO $do$
DECLARE
  old text := pg_get_functiondef('caliper.drop_old_partitions(int)'::regprocedure);
  was text := 'DELETE FROM caliper.sessions WHERE last_event_at < cutoff;';
BEGIN
  IF strpos(old, was) = 0 THEN
    RAISE EXCEPTION 'caliper.drop_old_partitions(int) is not the function of 002_partitions.sql';
  END IF;
  EXECUTE replace(old, was, 'DELETE FROM caliper.session_rows WHERE last_event_at < cutoff;');
END
$do$;

-- As 012's, counting the keys that session rows use.
CREATE OR REPLACE FUNCTION caliper.prune_texts(min_idle interval DEFAULT interval '7 days') RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  deleted bigint;
BEGIN
  IF min_idle IS NULL OR min_idle < interval '1 day' THEN
    RAISE invalid_parameter_value USING MESSAGE = 'caliper.prune_texts: min_idle must be at least 1 day';
  END IF;
  WITH used AS (
    SELECT r.key
    FROM caliper.event_rows AS e,
         LATERAL (VALUES (e.actor_ref), (e.user_ref), (e.user_agent_ref), (e.ed_app_ref),
                         (e.sensor_ref), (e.session_prefix_ref)) AS r(key)
    WHERE r.key IS NOT NULL
    UNION
    SELECT r.key
    FROM caliper.session_rows AS s,
         LATERAL (VALUES (s.user_ref), (s.session_prefix_ref)) AS r(key)
  ), doomed AS (
    SELECT t.id FROM caliper.texts AS t
    WHERE t.resolved_at < now() - min_idle
      AND NOT EXISTS (SELECT FROM used WHERE used.key = t.id)
    ORDER BY t.digest
    FOR UPDATE OF t  -- waits for a writer rewriting resolved_at, then reads it again
  )
  DELETE FROM caliper.texts AS t USING doomed WHERE t.id = doomed.id;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  DELETE FROM caliper.texts_prune_due;
  RETURN deleted;
END
$fn$;
COMMENT ON FUNCTION caliper.prune_texts(interval) IS
  'Deletes the caliper.texts that no event row or session row uses and no writer asked for in the last min_idle (default 7 days, at least 1 day); reads all of caliper.event_rows and caliper.session_rows; clears caliper.texts_prune_due; returns how many it deleted';

-- As 012's, counting the keys that session rows use (by the user index; a person's IRI is
-- never a session prefix, but a text may be both).
CREATE OR REPLACE FUNCTION caliper.forget_texts() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  -- A writer uses a key for up to 6 hours after asking, and asking leaves a resolved_at of
  -- the last hour alone (010); and an hour for a statement that is still under way.
  idle constant interval := interval '8 hours';
  due bigint[];
  deleted bigint := 0;
BEGIN
  SELECT array_agg(f.id) INTO due
  FROM caliper.texts_forget_due AS f JOIN caliper.texts AS t ON t.id = f.id
  WHERE t.resolved_at < now() - idle;
  IF due IS NOT NULL THEN
    -- Reads all of caliper.event_rows, as prune_texts does. A text still used (by events the
    -- LMS sent after the erasure, which are stored again) is theirs now and stays.
    WITH used AS (
      SELECT r.key
      FROM caliper.event_rows AS e,
           LATERAL (VALUES (e.actor_ref), (e.user_ref), (e.user_agent_ref), (e.ed_app_ref),
                           (e.sensor_ref), (e.session_prefix_ref)) AS r(key)
      WHERE r.key = ANY (due)
      UNION
      SELECT s.user_ref FROM caliper.session_rows AS s WHERE s.user_ref = ANY (due)
      UNION
      SELECT s.session_prefix_ref FROM caliper.session_rows AS s WHERE s.session_prefix_ref = ANY (due)
    ), doomed AS (
      SELECT t.id FROM caliper.texts AS t
      WHERE t.id = ANY (due) AND t.resolved_at < now() - idle
        AND NOT EXISTS (SELECT FROM used WHERE used.key = t.id)
      ORDER BY t.digest
      FOR UPDATE OF t  -- in caliper.text_keys' order; a rewritten resolved_at is read again
    )
    DELETE FROM caliper.texts AS t USING doomed WHERE t.id = doomed.id;
    GET DIAGNOSTICS deleted = ROW_COUNT;
  END IF;
  -- Owed no longer: deleted, or idle and still in use. Texts resolved within `idle` wait.
  DELETE FROM caliper.texts_forget_due AS f
  WHERE NOT EXISTS (SELECT FROM caliper.texts AS t WHERE t.id = f.id AND t.resolved_at >= now() - idle);
  RETURN deleted;
END
$fn$;
COMMENT ON FUNCTION caliper.forget_texts() IS
  'Deletes the texts of caliper.texts_forget_due that no event row or session row uses and no writer asked for in the last 8 hours (reads all of caliper.event_rows when there are any), and takes off that list those deleted or still in use; returns how many it deleted';

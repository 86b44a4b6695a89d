-- The compact storage, step 3 (issue 12 item 3): a session's IRI is stored as the key of its
-- prefix (up to and including the last '/', in caliper.texts: one per LMS) and its tail (the
-- rest, in the row), and the session's name is not stored again when it is that tail (Learn's
-- always is). An IRI that ends with '/' is kept whole (its prefix would hold the session's
-- id). About 100 bytes less per event (bench/README.md, "The writer's key cache and the session
-- IRI as prefix and tail"). The server's writer cuts the IRI (PostgreSQL cutting it costs
-- ~4.5 µs per event); caliper.write_events and inserts into caliper.session_events keep storing
-- the IRI in place, so rows of every form read the same.
--
-- Locks: ACCESS EXCLUSIVE on the view caliper.session_events (and so on what it reads:
-- caliper.event_rows, its partitions and caliper.texts) for the new columns and the view's new
-- definition (catalog changes only: no row is read or written), under the runner's 5 s
-- lock_timeout. The view first, as a query on it takes them: the other order deadlocks with
-- an analyst's query that comes between the two.

LOCK TABLE caliper.session_events IN ACCESS EXCLUSIVE MODE;

ALTER TABLE caliper.event_rows
  ADD COLUMN session_prefix_ref bigint,
  ADD COLUMN session_tail text,
  ADD COLUMN session_name_is_tail boolean;
COMMENT ON COLUMN caliper.event_rows.session_id IS
  'NULL with session_tail set: the session IRI is the text of session_prefix_ref followed by session_tail (rows written by caliper-sessiond since migration 011); else the session IRI';
COMMENT ON COLUMN caliper.event_rows.session_prefix_ref IS
  'the session IRI up to and including its last ''/'', in caliper.texts (NULL with session_tail set: the IRI has no ''/'')';
COMMENT ON COLUMN caliper.event_rows.session_tail IS 'the session IRI after its last ''/''';
COMMENT ON COLUMN caliper.event_rows.session_name IS
  'the session''s name as sent, unless session_name_is_tail';
COMMENT ON COLUMN caliper.event_rows.session_name_is_tail IS
  'true: the session''s name is session_tail (session_name is then NULL)';
-- Existing partitions get the new columns' comments too (new ones copy them).
DO $do$
DECLARE
  part regclass;
  col  text;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'caliper.event_rows'::regclass LOOP
    FOREACH col IN ARRAY ARRAY['session_id', 'session_prefix_ref', 'session_tail', 'session_name', 'session_name_is_tail'] LOOP
      EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', part, col,
                     col_description('caliper.event_rows'::regclass,
                                     (SELECT attnum FROM pg_attribute WHERE attrelid = 'caliper.event_rows'::regclass AND attname = col)));
    END LOOP;
  END LOOP;
END
$do$;

-- The same columns as 009's view (a CREATE OR REPLACE keeps their comments and grants).
CREATE OR REPLACE VIEW caliper.session_events AS
SELECT e.event_id, e.source, e.action, e.event_time,
       coalesce(e.actor_id, a.value, e.user_id) AS actor_id,
       e.user_id, e.user_lms_id, e.user_external_id,
       CASE WHEN e.session_tail IS NULL THEN e.session_id
            WHEN e.session_prefix_ref IS NULL THEN e.session_tail
            ELSE sp.value || e.session_tail END AS session_id,
       CASE WHEN e.session_name_is_tail THEN e.session_tail ELSE e.session_name END AS session_name,
       coalesce(e.user_agent, ua.value) AS user_agent, e.ip_address,
       coalesce(e.ed_app_id, ed.value) AS ed_app_id,
       coalesce(e.sensor, se.value) AS sensor,
       e.received_at
FROM caliper.event_rows AS e
LEFT JOIN caliper.texts AS a ON a.id = e.actor_ref
LEFT JOIN caliper.texts AS ua ON ua.id = e.user_agent_ref
LEFT JOIN caliper.texts AS ed ON ed.id = e.ed_app_ref
LEFT JOIN caliper.texts AS se ON se.id = e.sensor_ref
LEFT JOIN caliper.texts AS sp ON sp.id = e.session_prefix_ref;

-- For the sessions trigger: a key without its text (only a deleted text could make one) stops
-- the insert, rather than filing the event under a wrong session or none. 23503: the writer
-- stores such an event as a reject, with this message.
CREATE FUNCTION caliper.text_missing(key bigint, what text) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  RAISE foreign_key_violation USING MESSAGE = format('caliper.texts has no text %s (%s)', key, what);
END
$fn$;
COMMENT ON FUNCTION caliper.text_missing(bigint, text) IS
  'Raises 23503 for a key of caliper.texts that has no text (the sessions trigger reading a session IRI''s prefix)';

-- The sessions trigger (003) reads the session IRI of rows of every form. Rewritten in place,
-- as 009 did with the partition functions; stops here if it no longer reads as 003 wrote it.
DO $do$
DECLARE
  old text := pg_get_functiondef('caliper.sessions_after_insert()'::regprocedure);
  was text := 'SELECT source, session_id, action, event_time, user_id, user_external_id
    FROM new_events WHERE session_id IS NOT NULL';
  now_ text := 'SELECT n.source,
           CASE WHEN n.session_tail IS NULL THEN n.session_id
                WHEN n.session_prefix_ref IS NULL THEN n.session_tail
                ELSE coalesce(p.value, caliper.text_missing(n.session_prefix_ref, ''the session IRI''''s prefix''))
                     || n.session_tail END AS session_id,
           n.action, n.event_time, n.user_id, n.user_external_id
    FROM new_events AS n LEFT JOIN caliper.texts AS p ON p.id = n.session_prefix_ref
    WHERE n.session_id IS NOT NULL OR n.session_tail IS NOT NULL';
BEGIN
  IF strpos(old, was) = 0 THEN
    RAISE EXCEPTION 'caliper.sessions_after_insert() is not the function of 003_sessions.sql';
  END IF;
  EXECUTE replace(old, was, now_);
END
$do$;

-- One row while a caliper.prune_texts is owed: maintenance adds it when retention dropped a
-- month, prune_texts removes it when it is done. So a prune that failed (a lock timeout, a
-- stop) is done by the next maintenance run, not a month later.
CREATE TABLE caliper.texts_prune_due (
  due   boolean     PRIMARY KEY DEFAULT true CHECK (due),
  since timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE caliper.texts_prune_due IS
  'One row while caliper.prune_texts is owed (retention dropped a month since its last run); maintenance runs it then';
COMMENT ON COLUMN caliper.texts_prune_due.due IS 'always true: the table holds at most one row';
COMMENT ON COLUMN caliper.texts_prune_due.since IS 'when retention first dropped a month since the last prune';

-- Deletes the texts that no row of caliper.event_rows uses and that no writer asked for in the
-- last min_idle (at least a day): safe without a lock that stops writers, as 010 explains.
-- Reads every row of caliper.event_rows once (the keys of the texts in use are gathered in
-- memory: a few per client and LMS), so it is for maintenance: after retention dropped old
-- months, or after forget. Returns the number of texts deleted.
CREATE FUNCTION caliper.prune_texts(min_idle interval DEFAULT interval '7 days') RETURNS bigint
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
    SELECT DISTINCT r.key
    FROM caliper.event_rows AS e,
         LATERAL (VALUES (e.actor_ref), (e.user_agent_ref), (e.ed_app_ref), (e.sensor_ref),
                         (e.session_prefix_ref)) AS r(key)
    WHERE r.key IS NOT NULL
  )
  DELETE FROM caliper.texts AS t
  WHERE t.resolved_at < now() - min_idle
    AND NOT EXISTS (SELECT FROM used WHERE used.key = t.id);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  DELETE FROM caliper.texts_prune_due;
  RETURN deleted;
END
$fn$;
COMMENT ON FUNCTION caliper.prune_texts(interval) IS
  'Deletes the caliper.texts that no event row uses and no writer asked for in the last min_idle (default 7 days, at least 1 day); reads all of caliper.event_rows; clears caliper.texts_prune_due; returns how many it deleted';

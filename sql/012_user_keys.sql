-- The compact storage, step 4 (issue 12 item 3): the user's IRI as a key into caliper.texts
-- (user_ref) instead of in the row. A Learn user IRI is ~60-130 bytes and is the longest text
-- left in an event row; it is also the first step towards sessions that store keys (the
-- sessions trigger can then take the user's key as it is). The server's writer keeps the keys
-- in memory (sql/010); caliper.write_events and inserts into caliper.session_events keep
-- storing the IRI in place, so rows of every form read the same through the view.
--
-- The writer now keeps a key for up to 6 hours after asking for it (it was 10 minutes): a
-- user's login and logout are usually further apart than 10 minutes, and with the shorter
-- time nearly every user would be asked for again. So a key in use was resolved within
-- 7 hours (6 h, plus the hour during which text_keys does not rewrite resolved_at), still
-- inside prune_texts' minimum of a day.
--
-- forget (the server's subcommand) erases a person's events and sessions; their user IRI in
-- caliper.texts is personal data too. It can be deleted only once no writer may still hold
-- its key (resolved more than 8 hours ago: the 7 above and an hour for a statement under way,
-- which the writer's connections end within 30 minutes; else a writer could store a new event
-- with a key that has no text), and once no row uses it. forget records the person's texts in
-- caliper.texts_forget_due and, after its commit, calls caliper.forget_texts, which deletes
-- those that are unused and idle; maintenance calls it again while some are owed. forget also
-- masks the person as the actor of other users' events (caliper.erasures.actors_masked).
--
-- caliper.daily_active_users and caliper.logins_by_hour (005) were made over the table that
-- 009 renamed caliper.event_rows, and so read its user_id: they now read caliper.session_events,
-- as 005 wrote them (else the users the server stores as keys would not count).
--
-- Locks: ACCESS EXCLUSIVE on those two views and the view caliper.session_events, then on
-- caliper.event_rows, its partitions and caliper.texts (catalog changes only: no row is read or
-- written; the CHECK is NOT VALID), under the runner's 5 s lock_timeout. The views first, as a
-- query on them takes them.

LOCK TABLE caliper.daily_active_users, caliper.logins_by_hour, caliper.session_events IN ACCESS EXCLUSIVE MODE;

ALTER TABLE caliper.event_rows
  ALTER COLUMN user_id DROP NOT NULL,
  ADD COLUMN user_ref bigint;
-- New partitions copy it (ensure_partitions: INCLUDING CONSTRAINTS); rows from before hold user_id.
ALTER TABLE caliper.event_rows
  ADD CONSTRAINT event_rows_user_check CHECK (user_id IS NOT NULL OR user_ref IS NOT NULL) NOT VALID;
COMMENT ON COLUMN caliper.event_rows.user_id IS
  'NULL: see user_ref (rows written by caliper-sessiond since migration 012); else the user IRI';
COMMENT ON COLUMN caliper.event_rows.user_ref IS 'the user IRI in caliper.texts';
DO $do$
DECLARE
  part regclass;
  col  text;
BEGIN
  FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'caliper.event_rows'::regclass LOOP
    FOREACH col IN ARRAY ARRAY['user_id', 'user_ref'] LOOP
      EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', part, col,
                     col_description('caliper.event_rows'::regclass,
                                     (SELECT attnum FROM pg_attribute WHERE attrelid = 'caliper.event_rows'::regclass AND attname = col)));
    END LOOP;
  END LOOP;
END
$do$;

-- As 011's, with the user IRI from user_ref when the row has one (a key without its text reads
-- NULL, never another user's IRI); the actor is still the user when the row stores none.
CREATE OR REPLACE VIEW caliper.session_events AS
SELECT e.event_id, e.source, e.action, e.event_time,
       coalesce(e.actor_id, a.value, CASE WHEN e.user_ref IS NULL THEN e.user_id ELSE u.value END) AS actor_id,
       CASE WHEN e.user_ref IS NULL THEN e.user_id ELSE u.value END AS user_id,
       e.user_lms_id, e.user_external_id,
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
LEFT JOIN caliper.texts AS u ON u.id = e.user_ref
LEFT JOIN caliper.texts AS ua ON ua.id = e.user_agent_ref
LEFT JOIN caliper.texts AS ed ON ed.id = e.ed_app_ref
LEFT JOIN caliper.texts AS se ON se.id = e.sensor_ref
LEFT JOIN caliper.texts AS sp ON sp.id = e.session_prefix_ref;

CREATE OR REPLACE VIEW caliper.daily_active_users AS
SELECT event_time::date AS day,
       count(DISTINCT user_id) AS active_users,
       count(DISTINCT user_id) FILTER (WHERE action = 'LoggedIn') AS users_logged_in,
       count(*) FILTER (WHERE action = 'LoggedIn') AS logins
FROM caliper.session_events
GROUP BY 1;

CREATE OR REPLACE VIEW caliper.logins_by_hour AS
SELECT date_trunc('hour', event_time) AS hour,
       count(*) AS logins,
       count(DISTINCT user_id) AS users
FROM caliper.session_events
WHERE action = 'LoggedIn'
GROUP BY 1;

-- The sessions trigger (003, rewritten by 011) reads the user IRI from user_ref too; a key
-- without its text stops the insert (23503: the writer keeps the event as a reject). Each key
-- is looked up by its primary key: caliper.texts now holds every user, and a join would let the
-- planner hash all of it for every batch.
DO $do$
DECLARE
  old text := pg_get_functiondef('caliper.sessions_after_insert()'::regprocedure);
  was text := 'SELECT n.source,
           CASE WHEN n.session_tail IS NULL THEN n.session_id
                WHEN n.session_prefix_ref IS NULL THEN n.session_tail
                ELSE coalesce(p.value, caliper.text_missing(n.session_prefix_ref, ''the session IRI''''s prefix''))
                     || n.session_tail END AS session_id,
           n.action, n.event_time, n.user_id, n.user_external_id
    FROM new_events AS n LEFT JOIN caliper.texts AS p ON p.id = n.session_prefix_ref
    WHERE n.session_id IS NOT NULL OR n.session_tail IS NOT NULL';
  now_ text := 'SELECT n.source,
           CASE WHEN n.session_tail IS NULL THEN n.session_id
                WHEN n.session_prefix_ref IS NULL THEN n.session_tail
                ELSE coalesce((SELECT p.value FROM caliper.texts AS p WHERE p.id = n.session_prefix_ref),
                              caliper.text_missing(n.session_prefix_ref, ''the session IRI''''s prefix''))
                     || n.session_tail END AS session_id,
           n.action, n.event_time,
           CASE WHEN n.user_ref IS NULL THEN n.user_id
                ELSE coalesce((SELECT u.value FROM caliper.texts AS u WHERE u.id = n.user_ref),
                              caliper.text_missing(n.user_ref, ''the user IRI'')) END AS user_id,
           n.user_external_id
    FROM new_events AS n
    WHERE n.session_id IS NOT NULL OR n.session_tail IS NOT NULL';
BEGIN
  IF strpos(old, was) = 0 THEN
    RAISE EXCEPTION 'caliper.sessions_after_insert() is not the function of 003_sessions.sql and 011_session_tails.sql';
  END IF;
  EXECUTE replace(old, was, now_);
END
$do$;

-- As 011's, counting user_ref among the keys in use, and locking the texts it deletes in digest
-- order first, as caliper.text_keys does (in another order a writer asking for two of them at
-- that moment could deadlock with it).
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
    SELECT DISTINCT r.key
    FROM caliper.event_rows AS e,
         LATERAL (VALUES (e.actor_ref), (e.user_ref), (e.user_agent_ref), (e.ed_app_ref),
                         (e.sensor_ref), (e.session_prefix_ref)) AS r(key)
    WHERE r.key IS NOT NULL
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

CREATE TABLE caliper.texts_forget_due (
  id    bigint      PRIMARY KEY,
  since timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE caliper.texts_forget_due IS
  'Texts of erased people (forget) still to delete from caliper.texts once unused and idle; see caliper.forget_texts';
COMMENT ON COLUMN caliper.texts_forget_due.id IS 'the key in caliper.texts (the text itself is not repeated here)';
COMMENT ON COLUMN caliper.texts_forget_due.since IS 'when forget recorded it';

CREATE FUNCTION caliper.forget_texts() RETURNS bigint
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
      SELECT DISTINCT r.key
      FROM caliper.event_rows AS e,
           LATERAL (VALUES (e.actor_ref), (e.user_ref), (e.user_agent_ref), (e.ed_app_ref),
                           (e.sensor_ref), (e.session_prefix_ref)) AS r(key)
      WHERE r.key = ANY (due)
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
  'Deletes the texts of caliper.texts_forget_due that no event row uses and no writer asked for in the last 8 hours (reads all of caliper.event_rows when there are any), and takes off that list those deleted or still in use; returns how many it deleted';

-- Who asked to be erased is not for analysts (007 hides caliper.erasures' hash the same way).
REVOKE ALL ON caliper.texts_forget_due FROM caliper_analyst;

-- forget also masks the person where they are the actor of another user's event (an
-- administrator acting for a student): the events stay, their actor reads
-- 'urn:caliper-sessiond:erased'. How many, per erasure:
ALTER TABLE caliper.erasures ADD COLUMN actors_masked bigint NOT NULL DEFAULT 0;
COMMENT ON COLUMN caliper.erasures.actors_masked IS
  'events of other users whose actor was the person, their actor now ''urn:caliper-sessiond:erased'' (0 for erasures before migration 012)';
GRANT SELECT (actors_masked) ON caliper.erasures TO caliper_analyst;

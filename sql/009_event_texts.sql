-- The first step of the compact storage (issue 12 item 3): the long values that every event
-- repeats (the user agent, the edApp and the sensor, and the actor where it is not the user)
-- are stored once, in caliper.texts, and the events keep their integer keys. Analysts read
-- the same caliper.session_events as before, now a view with the same columns, over the
-- table that holds the rows, caliper.event_rows.
--
-- Rows stored before this migration keep their texts: the view takes each value from the
-- row's own column when it has one, else from caliper.texts. So nothing is copied or
-- rewritten here, and a row of either form reads the same.
--
-- Measured before it was built (bench/README.md, "Compact storage measured before it is
-- built"): these four columns are most of an event's row; the sessions, the users and the
-- session's IRI are later steps.
--
-- Locks: ACCESS EXCLUSIVE on caliper.session_events and its partitions for the rename and the
-- new columns (catalog changes only: no row is read or written), under the runner's 5 s
-- lock_timeout.

ALTER TABLE caliper.session_events RENAME TO event_rows;

CREATE TABLE caliper.texts (
  -- bigint: every new value takes a number, and senders choose the values (a sender sending
  -- a new user agent with each event would use up an integer's 2^31 in weeks).
  id     bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  digest bytea   NOT NULL UNIQUE,  -- caliper.text_digest(value): user agents may exceed a btree entry
  value  text    NOT NULL
);

-- SHA-256 of the text's bytes. Not MD5: a sender who could make two values collide would
-- have its events show the other value.
CREATE FUNCTION caliper.text_digest(value text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $fn$ SELECT sha256(convert_to(value, 'UTF8')) $fn$;

COMMENT ON TABLE caliper.texts IS 'Long values that events repeat (user agents, edApp IRIs, sensors, actors other than the user), stored once; caliper.session_events shows them in place';
COMMENT ON COLUMN caliper.texts.id IS 'the key that caliper.event_rows stores';
COMMENT ON COLUMN caliper.texts.digest IS 'caliper.text_digest(value), unique: SHA-256 of the value';
COMMENT ON COLUMN caliper.texts.value IS 'the text as received';
COMMENT ON FUNCTION caliper.text_digest(text) IS 'The digest under which caliper.texts stores a value';

-- New rows leave these columns NULL and set the keys instead.
ALTER TABLE caliper.event_rows
  ALTER COLUMN actor_id DROP NOT NULL,
  ALTER COLUMN sensor DROP NOT NULL,
  ADD COLUMN actor_ref bigint,
  ADD COLUMN user_agent_ref bigint,
  ADD COLUMN ed_app_ref bigint,
  ADD COLUMN sensor_ref bigint;
-- Checked for new rows only (NOT VALID): every row stored before had its sensor.
ALTER TABLE caliper.event_rows
  ADD CONSTRAINT event_rows_sensor_check CHECK (sensor IS NOT NULL OR sensor_ref IS NOT NULL) NOT VALID;

-- Copies the column comments of `src` to the columns of the same name of `dst`; for this
-- migration only (dropped below).
CREATE FUNCTION pg_temp.copy_column_comments(src regclass, dst regclass) RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
  col record;
BEGIN
  FOR col IN
    SELECT s.attname, col_description(s.attrelid, s.attnum) AS note
    FROM pg_attribute AS s
    JOIN pg_attribute AS d ON d.attrelid = dst AND d.attname = s.attname AND d.attnum > 0
    WHERE s.attrelid = src AND s.attnum > 0 AND NOT s.attisdropped
  LOOP
    EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', dst, col.attname, col.note);
  END LOOP;
END
$fn$;

-- What analysts read. Each lookup is a LEFT JOIN on caliper.texts' primary key, so a query
-- that does not use a column does not pay for its lookup (the planner removes the join).
CREATE VIEW caliper.session_events AS
SELECT e.event_id, e.source, e.action, e.event_time,
       coalesce(e.actor_id, a.value, e.user_id) AS actor_id,
       e.user_id, e.user_lms_id, e.user_external_id, e.session_id, e.session_name,
       coalesce(e.user_agent, ua.value) AS user_agent, e.ip_address,
       coalesce(e.ed_app_id, ed.value) AS ed_app_id,
       coalesce(e.sensor, se.value) AS sensor,
       e.received_at
FROM caliper.event_rows AS e
LEFT JOIN caliper.texts AS a ON a.id = e.actor_ref
LEFT JOIN caliper.texts AS ua ON ua.id = e.user_agent_ref
LEFT JOIN caliper.texts AS ed ON ed.id = e.ed_app_ref
LEFT JOIN caliper.texts AS se ON se.id = e.sensor_ref;

COMMENT ON VIEW caliper.session_events IS
  'One row per Caliper SessionEvent (LoggedIn, LoggedOut, TimedOut) as received; a resend is not stored twice. Stored in caliper.event_rows. DESIGN.md section 3.';
-- The columns' comments, as the table has them (002): the contract's.
SELECT pg_temp.copy_column_comments('caliper.event_rows', 'caliper.session_events');

-- The table's own comments, after the view has copied the contract's ones.
COMMENT ON TABLE caliper.event_rows IS
  'The rows behind caliper.session_events (read that view): one per SessionEvent, partitioned by month of event_time (UTC), see caliper.ensure_partitions. Long repeated values are keys into caliper.texts (rows stored before migration 009 hold them as text).';
COMMENT ON COLUMN caliper.event_rows.actor_id IS 'NULL: see actor_ref (rows before migration 009: the actor IRI)';
COMMENT ON COLUMN caliper.event_rows.actor_ref IS 'the actor IRI in caliper.texts when it is not user_id; NULL with actor_id NULL: the actor is the user';
COMMENT ON COLUMN caliper.event_rows.user_agent IS 'NULL: see user_agent_ref (rows before migration 009: the user agent)';
COMMENT ON COLUMN caliper.event_rows.user_agent_ref IS 'the user agent in caliper.texts';
COMMENT ON COLUMN caliper.event_rows.ed_app_id IS 'NULL: see ed_app_ref (rows before migration 009: the edApp IRI)';
COMMENT ON COLUMN caliper.event_rows.ed_app_ref IS 'the edApp IRI in caliper.texts';
COMMENT ON COLUMN caliper.event_rows.sensor IS 'NULL: see sensor_ref (rows before migration 009: the sensor)';
COMMENT ON COLUMN caliper.event_rows.sensor_ref IS 'the envelope''s sensor in caliper.texts';
-- The partitions that exist get the columns' comments too (new ones copy them).
SELECT pg_temp.copy_column_comments('caliper.event_rows', inhrelid::regclass)
FROM pg_inherits WHERE inhparent = 'caliper.event_rows'::regclass;
DROP FUNCTION pg_temp.copy_column_comments(regclass, regclass);

-- Inserts into caliper.session_events keep working (scripts, tests, other loaders, and a server
-- of an older version during a rolling upgrade): each row is stored with its texts in place, as
-- before this migration, and a resend is skipped as ON CONFLICT DO NOTHING skipped it (the
-- statement's own ON CONFLICT clause does not reach through the trigger). A skipped row is not
-- counted and not RETURNed. Row by row, so slower than caliper.write_events, which the server
-- uses since 009.
CREATE FUNCTION caliper.session_events_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  -- The table no longer refuses a NULL actor (new rows leave it NULL for "the user").
  IF NEW.actor_id IS NULL THEN
    RAISE not_null_violation USING MESSAGE = 'null value in column "actor_id" of caliper.session_events';
  END IF;
  INSERT INTO caliper.event_rows (event_id, source, action, event_time, actor_id, user_id,
    user_lms_id, user_external_id, session_id, session_name, user_agent, ip_address, ed_app_id,
    sensor, received_at)
  VALUES (NEW.event_id, NEW.source, NEW.action, NEW.event_time, NEW.actor_id, NEW.user_id,
    NEW.user_lms_id, NEW.user_external_id, NEW.session_id, NEW.session_name, NEW.user_agent,
    NEW.ip_address, NEW.ed_app_id, NEW.sensor, NEW.received_at)
  ON CONFLICT DO NOTHING;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END
$fn$;

CREATE TRIGGER session_events_insert INSTEAD OF INSERT ON caliper.session_events
  FOR EACH ROW EXECUTE FUNCTION caliper.session_events_insert();

-- The server's write: a batch of events and rejects in one call (one round trip, one
-- transaction). The batch's texts are added to caliper.texts first, in their own statement,
-- so the insert that follows (a new snapshot) finds them, also those that a concurrent
-- writer added; in digest order, one lock order for concurrent batches. Returns the
-- (event_id, event_time) of the rows inserted: a resend is skipped (ON CONFLICT DO NOTHING).
CREATE FUNCTION caliper.write_events(
    ids uuid[], sources text[], actions caliper.session_action[], event_times timestamptz[],
    actors text[], users text[], user_lms_ids text[], user_external_ids text[],
    session_ids text[], session_names text[], user_agents text[], ip_addresses inet[],
    ed_apps text[], sensors text[], received timestamptz[],
    reject_received timestamptz[], reject_sources text[], reject_reasons text[], reject_raws text[])
RETURNS TABLE (inserted_id uuid, inserted_time timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  -- The batch's distinct texts: a handful (user agents, the edApp, the sensor, the LMS as
  -- the actor of TimedOut).
  batch_texts text[] := ARRAY(
    SELECT DISTINCT v
    FROM unnest(user_agents || ed_apps || sensors
                || ARRAY(SELECT x.a FROM unnest(actors, users) AS x(a, u) WHERE x.a <> x.u)) AS v
    WHERE v IS NOT NULL);
BEGIN
  INSERT INTO caliper.rejected_events (received_at, source, reason, raw)
  SELECT * FROM unnest(reject_received, reject_sources, reject_reasons, reject_raws);

  INSERT INTO caliper.texts (digest, value)
  SELECT d.digest, d.v
  FROM (SELECT caliper.text_digest(v) AS digest, v FROM unnest(batch_texts) AS v) AS d
  WHERE NOT EXISTS (SELECT FROM caliper.texts AS t WHERE t.digest = d.digest)
  ORDER BY d.digest
  ON CONFLICT (digest) DO NOTHING;

  RETURN QUERY
  WITH b AS (
    SELECT * FROM unnest(ids, sources, actions, event_times, actors, users, user_lms_ids,
                         user_external_ids, session_ids, session_names, user_agents, ip_addresses,
                         ed_apps, sensors, received)
      AS b(id, source, action, event_time, actor, usr, lms_id, external_id, session_id,
           session_name, user_agent, ip_address, ed_app, sensor, received_at)
  ), k AS (
    SELECT t.id, t.value FROM caliper.texts AS t
    WHERE t.digest IN (SELECT caliper.text_digest(v) FROM unnest(batch_texts) AS v)
  )
  INSERT INTO caliper.event_rows AS e (event_id, source, action, event_time, user_id,
    user_lms_id, user_external_id, session_id, session_name, ip_address, received_at,
    actor_ref, user_agent_ref, ed_app_ref, sensor_ref)
  SELECT b.id, b.source, b.action, b.event_time, b.usr, b.lms_id, b.external_id, b.session_id,
         b.session_name, b.ip_address, b.received_at,
         CASE WHEN b.actor <> b.usr THEN ka.id END, kua.id, ked.id, kse.id
  FROM b
  LEFT JOIN k AS ka ON ka.value = b.actor
  LEFT JOIN k AS kua ON kua.value = b.user_agent
  LEFT JOIN k AS ked ON ked.value = b.ed_app
  LEFT JOIN k AS kse ON kse.value = b.sensor
  ON CONFLICT DO NOTHING
  RETURNING e.event_id, e.event_time;
END
$fn$;

COMMENT ON FUNCTION caliper.write_events(uuid[], text[], caliper.session_action[], timestamptz[], text[], text[], text[], text[], text[], text[], text[], inet[], text[], text[], timestamptz[], timestamptz[], text[], text[], text[]) IS
  'How caliper-sessiond stores a batch: one array per column of caliper.session_events, then the rejects'' (received_at, source, reason, raw); returns the (event_id, event_time) of the events inserted (resends are skipped)';

-- The partition maintenance of 002 and 006 now works on caliper.event_rows. New partitions
-- copy its CHECK constraints too (ATTACH wants them). Partitions keep their names
-- (session_events_yYYYYmMM, session_events_default).
DO $do$
DECLARE
  f   regprocedure;
  old text;
  new text;
BEGIN
  FOREACH f IN ARRAY ARRAY['caliper.ensure_partitions(int, bigint, int)'::regprocedure,
                           'caliper.drop_old_partitions(int)'::regprocedure] LOOP
    old := pg_get_functiondef(f);
    new := replace(regexp_replace(old, 'caliper\.session_events(?![_a-z0-9])', 'caliper.event_rows', 'g'),
                   'INCLUDING COMMENTS,', 'INCLUDING COMMENTS INCLUDING CONSTRAINTS,');
    -- Never a silent no-op: a function that no longer reads as 002/006 wrote it stops here.
    IF strpos(new, 'caliper.event_rows') = 0 OR strpos(new, 'caliper.session_events''::regclass') > 0
       OR (f = 'caliper.ensure_partitions(int, bigint, int)'::regprocedure
           AND strpos(new, 'INCLUDING CONSTRAINTS') = 0) THEN
      RAISE EXCEPTION '% is not the function of 002/006_*.sql', f;
    END IF;
    EXECUTE new;
  END LOOP;
END
$do$;
COMMENT ON FUNCTION caliper.ensure_partitions(int, bigint, int) IS
  'Creates the monthly partitions of caliper.event_rows (the rows of caliper.session_events) from this month (UTC) to months_ahead months ahead, then for the months that have rows in the default partition (most recent first), moving those rows (at most max_move_rows per month; more: skipped with a warning). At most max_new_partitions partitions per call; the months left over are reported ("capped at ...") and taken by the next calls. Returns one line per action. Safe to call at any time; caliper-sessiond calls it at start and every database.maintenance_interval_minutes with database.partitions_max_per_run.';
COMMENT ON FUNCTION caliper.drop_old_partitions(int) IS
  'Retention: drops the monthly partitions of caliper.event_rows (the rows of caliper.session_events) that lie wholly before the last keep_months months (UTC; this month counts), the rows of those months waiting in the default partition, and the sessions whose last event is older. keep_months <= 0 means off (the default setting).';

-- Analysts read the view and the texts (005's default privileges cover new tables and views).
GRANT SELECT ON caliper.session_events, caliper.texts TO caliper_analyst;

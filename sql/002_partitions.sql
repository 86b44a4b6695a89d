-- Monthly partitions of caliper.session_events, created ahead of time, and a retention switch.
-- Months are calendar months in UTC. Partitions are named session_events_yYYYYmMM.
--
-- Locks: a partition is built as a plain table and then ATTACHed, which takes only SHARE
-- UPDATE EXCLUSIVE on caliper.session_events (inserts continue) and ACCESS EXCLUSIVE on the
-- default partition while it checks that the default holds no row of the new month. The
-- default is small once partitions exist; in an install that ran without them (001 only), the
-- rows of a month are moved out of the default first, at most max_move_rows per month.

-- A block-range index: tiny, and it lets a query on a day or an hour skip most of a month.
-- ON ONLY: nothing is built now (the default partition may be big); every partition that
-- ensure_partitions attaches gets its own copy. The parent index stays "invalid" as long as
-- the default partition has none, which only means the default is scanned without it.
CREATE INDEX IF NOT EXISTS session_events_event_time_brin
  ON ONLY caliper.session_events USING brin (event_time);

-- Column comments first: partitions copy them (LIKE ... INCLUDING COMMENTS).
COMMENT ON TABLE caliper.session_events IS
  'One row per Caliper SessionEvent (LoggedIn, LoggedOut, TimedOut) as received; a resend is not stored twice. Partitioned by month of event_time (UTC), see caliper.ensure_partitions. DESIGN.md section 3.';
COMMENT ON COLUMN caliper.session_events.event_id IS 'the event id without urn:uuid:; for events with no usable id, a UUIDv5 derived from source, type, action, user, eventTime and object id, so a resend is still a duplicate';
COMMENT ON COLUMN caliper.session_events.source IS 'name of the API key that sent the event (which LMS or sensor)';
COMMENT ON COLUMN caliper.session_events.action IS 'LoggedIn, LoggedOut or TimedOut';
COMMENT ON COLUMN caliper.session_events.event_time IS 'eventTime: when it happened, per the sender; the partition key';
COMMENT ON COLUMN caliper.session_events.actor_id IS 'the event''s actor IRI as sent (the software application for TimedOut)';
COMMENT ON COLUMN caliper.session_events.user_id IS 'the person: the actor for LoggedIn/LoggedOut, object.user or object.actor for TimedOut (an IRI)';
COMMENT ON COLUMN caliper.session_events.user_lms_id IS 'the LMS''s internal user id (Blackboard bb:user.id, e.g. _123_1) where present';
COMMENT ON COLUMN caliper.session_events.user_external_id IS 'the institution''s user id (Blackboard bb:user.externalId / batch_uid, Canvas user_sis_id) where present';
COMMENT ON COLUMN caliper.session_events.session_id IS 'the session IRI (federatedSession.id, else session.id, else the Session object); NULL when the event names none';
COMMENT ON COLUMN caliper.session_events.session_name IS 'that session''s name where present';
COMMENT ON COLUMN caliper.session_events.user_agent IS 'client browser (User-Agent) where present';
COMMENT ON COLUMN caliper.session_events.ip_address IS 'client address where present; NULL when absent or unparsable';
COMMENT ON COLUMN caliper.session_events.ed_app_id IS 'the edApp IRI (the LMS instance)';
COMMENT ON COLUMN caliper.session_events.sensor IS 'the envelope''s sensor';
COMMENT ON COLUMN caliper.session_events.received_at IS 'when caliper-sessiond accepted the request';
COMMENT ON TABLE caliper.session_events_default IS
  'Default partition of caliper.session_events: rows whose month has no partition yet; caliper.ensure_partitions moves them into monthly partitions';
DO $do$
DECLARE
  col record;
BEGIN
  FOR col IN
    SELECT a.attname, col_description(a.attrelid, a.attnum) AS note
    FROM pg_attribute AS a
    WHERE a.attrelid = 'caliper.session_events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  LOOP
    EXECUTE format('COMMENT ON COLUMN caliper.session_events_default.%I IS %L', col.attname, col.note);
  END LOOP;
END
$do$;

CREATE OR REPLACE FUNCTION caliper.ensure_partitions(months_ahead int DEFAULT 3,
                                                     max_move_rows bigint DEFAULT 200000)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  m          timestamp;
  part       text;
  lo         timestamptz;
  hi         timestamptz;
  n          bigint;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 THEN
    RAISE EXCEPTION 'ensure_partitions: months_ahead must be >= 0, not %', months_ahead;
  END IF;
  -- One caller at a time ("calippar"); a second one waits, then finds the work done.
  PERFORM pg_advisory_xact_lock(7161081438072056178);
  -- The coming months, then every month that has rows stranded in the default partition.
  FOR m IN
    SELECT g FROM generate_series(this_month, this_month + make_interval(months => months_ahead),
                                  interval '1 month') AS g
    UNION
    SELECT DISTINCT date_trunc('month', d.event_time AT TIME ZONE 'UTC')
    FROM caliper.session_events_default AS d
    ORDER BY 1
  LOOP
    part := to_char(m, '"session_events_y"YYYY"m"MM');
    CONTINUE WHEN to_regclass(format('caliper.%I', part)) IS NOT NULL;
    lo := m AT TIME ZONE 'UTC';
    hi := (m + interval '1 month') AT TIME ZONE 'UTC';
    BEGIN
      SELECT count(*) INTO n FROM caliper.session_events_default
      WHERE event_time >= lo AND event_time < hi;
      IF n > max_move_rows THEN
        RAISE WARNING 'ensure_partitions: % not created: the default partition holds % rows of that month (max_move_rows %); run caliper.ensure_partitions(%, %) in a quiet hour',
          part, n, max_move_rows, months_ahead, n;
        RETURN NEXT format('skipped %s: %s rows in the default partition', part, n);
        CONTINUE;
      END IF;
      EXECUTE format('CREATE TABLE caliper.%I (LIKE caliper.session_events INCLUDING DEFAULTS INCLUDING COMMENTS,'
                     ' CONSTRAINT %I CHECK (event_time >= %L AND event_time < %L))',
                     part, part || '_range', lo, hi);
      IF n > 0 THEN
        -- Writes to the default wait from here to the commit; reads go on.
        LOCK TABLE caliper.session_events_default IN SHARE ROW EXCLUSIVE MODE;
        EXECUTE format('INSERT INTO caliper.%I SELECT * FROM caliper.session_events_default'
                       ' WHERE event_time >= %L AND event_time < %L', part, lo, hi);
        DELETE FROM caliper.session_events_default WHERE event_time >= lo AND event_time < hi;
        GET DIAGNOSTICS n = ROW_COUNT;
      END IF;
      EXECUTE format('ALTER TABLE caliper.session_events ATTACH PARTITION caliper.%I'
                     ' FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
      EXECUTE format('ALTER TABLE caliper.%I DROP CONSTRAINT %I', part, part || '_range');
      EXECUTE format('COMMENT ON TABLE caliper.%I IS %L', part,
                     format('Partition of caliper.session_events for event_time in [%s, %s)', lo, hi));
      IF n > 0 THEN
        RAISE NOTICE 'ensure_partitions: created %, moved % rows out of the default partition', part, n;
        RETURN NEXT format('created %s, moved %s rows from the default partition', part, n);
      ELSE
        RETURN NEXT format('created %s', part);
      END IF;
    EXCEPTION WHEN lock_not_available THEN
      -- lock_timeout: busy now, the next call tries again.
      RAISE WARNING 'ensure_partitions: % not created: %', part, SQLERRM;
      RETURN NEXT format('skipped %s: %s', part, SQLERRM);
    END;
  END LOOP;
END
$fn$;

COMMENT ON FUNCTION caliper.ensure_partitions(int, bigint) IS
  'Creates the monthly partitions of caliper.session_events from this month (UTC) to months_ahead months ahead, and for every month that has rows in the default partition, moving those rows (at most max_move_rows per month; more: skipped with a warning). Returns one line per action. Safe to call at any time; caliper-sessiond calls it at start and hourly.';

CREATE OR REPLACE FUNCTION caliper.drop_old_partitions(keep_months int)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  cutoff timestamptz;
  part   record;
  n      bigint;
  dropped int := 0;
BEGIN
  IF keep_months IS NULL OR keep_months <= 0 THEN
    RETURN;  -- retention off
  END IF;
  PERFORM pg_advisory_xact_lock(7161081438072056178);
  -- Keep this month and the keep_months - 1 before it.
  cutoff := (date_trunc('month', now() AT TIME ZONE 'UTC')
             - make_interval(months => keep_months - 1)) AT TIME ZONE 'UTC';
  FOR part IN
    SELECT c.relname,
           (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'caliper.session_events'::regclass
      AND c.relname ~ '^session_events_y[0-9]{4}m[0-9]{2}$'
    ORDER BY c.relname
  LOOP
    CONTINUE WHEN part.upper IS NULL OR part.upper > cutoff;
    EXECUTE format('DROP TABLE caliper.%I', part.relname);
    dropped := dropped + 1;
    RETURN NEXT format('dropped %s', part.relname);
  END LOOP;
  -- Rows of those months that wait in the default partition (normally few; a seq scan).
  DELETE FROM caliper.session_events_default WHERE event_time < cutoff;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n > 0 THEN
    dropped := dropped + 1;
    RETURN NEXT format('deleted %s rows before %s from the default partition', n, cutoff);
  END IF;
  IF dropped > 0 THEN
    -- Sessions whose every event is gone.
    DELETE FROM caliper.sessions WHERE last_event_at < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n > 0 THEN
      RETURN NEXT format('deleted %s sessions whose last event is before %s', n, cutoff);
    END IF;
  END IF;
END
$fn$;

COMMENT ON FUNCTION caliper.drop_old_partitions(int) IS
  'Retention: drops the monthly partitions of caliper.session_events that lie wholly before the last keep_months months (UTC; this month counts), the rows of those months waiting in the default partition, and the sessions whose last event is older. keep_months <= 0 means off (the default setting).';

-- This month and three ahead (a DO block: the migration runner expects a command's result).
DO $do$ BEGIN PERFORM caliper.ensure_partitions(3); END $do$;

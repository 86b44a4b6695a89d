-- caliper.ensure_partitions gets a cap on the partitions it creates per call (issue 11).
--
-- Every partition makes the planning of every query on caliper.session_events a little
-- slower; one request with events in 2,000 distinct months once made 2,000 partitions and
-- planning ~6x slower. The server now refuses eventTimes outside a window (ingest.*), and
-- maintenance creates at most max_new_partitions per call: the months ahead first (they are
-- needed soon), then the months waiting in the default partition, the most recent first. The
-- rest wait there, are counted in the result, and are taken by the next calls.
--
-- Locks: none on tables. The old (int, bigint) function is replaced by one with a third
-- argument that has a default, so the calls ensure_partitions(3) and ensure_partitions(3, n)
-- keep working (two overloads would make them ambiguous).

DROP FUNCTION caliper.ensure_partitions(int, bigint);

CREATE FUNCTION caliper.ensure_partitions(months_ahead int DEFAULT 3,
                                          max_move_rows bigint DEFAULT 200000,
                                          max_new_partitions int DEFAULT 24)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
  this_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC');
  last_ahead timestamp;
  cand       record;
  part       text;
  lo         timestamptz;
  hi         timestamptz;
  n          bigint;
  created    int := 0;
  deferred   int := 0;
BEGIN
  IF months_ahead IS NULL OR months_ahead < 0 THEN
    RAISE EXCEPTION 'ensure_partitions: months_ahead must be >= 0, not %', months_ahead;
  END IF;
  IF max_new_partitions IS NULL OR max_new_partitions < 1 THEN
    RAISE EXCEPTION 'ensure_partitions: max_new_partitions must be >= 1, not %', max_new_partitions;
  END IF;
  last_ahead := this_month + make_interval(months => months_ahead);
  -- One caller at a time ("calippar"); a second one waits, then finds the work done.
  PERFORM pg_advisory_xact_lock(7161081438072056178);
  FOR cand IN
    SELECT c.m FROM (
      SELECT g AS m, true AS ahead
      FROM generate_series(this_month, last_ahead, interval '1 month') AS g
      UNION ALL
      SELECT x.m, false
      FROM (SELECT DISTINCT date_trunc('month', d.event_time AT TIME ZONE 'UTC') AS m
            FROM caliper.session_events_default AS d) AS x
      WHERE x.m < this_month OR x.m > last_ahead
    ) AS c
    ORDER BY c.ahead DESC, CASE WHEN c.ahead THEN c.m END, c.m DESC
  LOOP
    part := to_char(cand.m, '"session_events_y"YYYY"m"MM');
    CONTINUE WHEN to_regclass(format('caliper.%I', part)) IS NOT NULL;
    IF created >= max_new_partitions THEN
      deferred := deferred + 1;
      CONTINUE;
    END IF;
    lo := cand.m AT TIME ZONE 'UTC';
    hi := (cand.m + interval '1 month') AT TIME ZONE 'UTC';
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
      created := created + 1;
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
  IF deferred > 0 THEN
    -- caliper-sessiond reads this line (store/maintenance.cpp): keep its shape.
    RAISE WARNING 'ensure_partitions: % more months wait for the next call (max_new_partitions %)',
      deferred, max_new_partitions;
    RETURN NEXT format('capped at %s new partitions: %s more months wait for the next run',
                       max_new_partitions, deferred);
  END IF;
END
$fn$;

COMMENT ON FUNCTION caliper.ensure_partitions(int, bigint, int) IS
  'Creates the monthly partitions of caliper.session_events from this month (UTC) to months_ahead months ahead, then for the months that have rows in the default partition (most recent first), moving those rows (at most max_move_rows per month; more: skipped with a warning). At most max_new_partitions partitions per call; the months left over are reported ("capped at ...") and taken by the next calls. Returns one line per action. Safe to call at any time; caliper-sessiond calls it at start and every database.maintenance_interval_minutes with database.partitions_max_per_run.';

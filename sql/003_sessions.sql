-- caliper.sessions: one row per session, kept up to date in the transaction that inserts the
-- events, by a statement-level trigger: the writer inserts a batch with one statement, so the
-- trigger runs once per batch and sees the batch's new rows (duplicates already dropped by
-- ON CONFLICT DO NOTHING) in its transition table.
--
-- The merge rules are order-independent and idempotent (min/max with tie-breaks), so the row
-- is the same whatever order and batching the events arrive in, and merging an event twice
-- changes nothing (004 relies on that to backfill while the trigger runs):
--   started_at   earliest LoggedIn; NULL when no LoggedIn arrived (missing login)
--   ended_at     earliest LoggedOut/TimedOut (a second logout does not move it); at equal
--                times LoggedOut wins over TimedOut; end_reason 'open' while there is none
--   user_id      that of the earliest LoggedIn, else of the earliest event; ties: smallest
--   user_external_id  from the same event, else from any event of the session that has one
-- Events with a NULL session_id have no session and are left out (they still count in
-- daily_active_users and logins_by_hour, which read caliper.session_events).
-- Only inserts through caliper.session_events fire the trigger (not inserts straight into a
-- partition, nor UPDATE/DELETE).
-- Locks: only new objects; CREATE TRIGGER takes a brief SHARE ROW EXCLUSIVE on the parent.

CREATE TABLE caliper.sessions (
  source           text        NOT NULL,
  session_id       text        NOT NULL,
  user_id          text        NOT NULL,
  user_external_id text,
  started_at       timestamptz,
  ended_at         timestamptz,
  end_reason       text        NOT NULL DEFAULT 'open',
  duration         interval    GENERATED ALWAYS AS (ended_at - started_at) STORED,
  first_event_at   timestamptz NOT NULL,
  last_event_at    timestamptz NOT NULL,
  PRIMARY KEY (source, session_id),
  CONSTRAINT sessions_end_reason_check
    CHECK (end_reason IN ('LoggedOut', 'TimedOut', 'open') AND (end_reason = 'open') = (ended_at IS NULL))
) WITH (fillfactor = 90);  -- room for the HOT update that a logout makes

CREATE INDEX sessions_started_at_idx ON caliper.sessions (started_at);
-- Hash: user IRIs are long (~130 bytes); a hash index keeps 4 bytes per row, costs the
-- writer about nothing, and a user's sessions are few enough to filter by time after it.
CREATE INDEX sessions_user_id_idx ON caliper.sessions USING hash (user_id);

CREATE FUNCTION caliper.sessions_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  -- Keep in step with the backfill in 004_sessions_backfill.sql.
  WITH ev AS (
    SELECT source, session_id, action, event_time, user_id, user_external_id
    FROM new_events WHERE session_id IS NOT NULL
  ), span AS (
    SELECT source, session_id,
           min(event_time) FILTER (WHERE action = 'LoggedIn') AS started_at,
           min(event_time) AS first_event_at, max(event_time) AS last_event_at,
           min(user_external_id) AS any_external_id
    FROM ev GROUP BY source, session_id
  ), anchor AS (
    SELECT DISTINCT ON (source, session_id) source, session_id, user_id, user_external_id
    FROM ev ORDER BY source, session_id, action <> 'LoggedIn', event_time, user_id
  ), ending AS (
    SELECT DISTINCT ON (source, session_id) source, session_id, event_time AS ended_at,
           action::text AS end_reason
    FROM ev WHERE action <> 'LoggedIn'
    ORDER BY source, session_id, event_time, action
  )
  INSERT INTO caliper.sessions AS s (source, session_id, user_id, user_external_id, started_at,
                                     ended_at, end_reason, first_event_at, last_event_at)
  SELECT span.source, span.session_id, anchor.user_id,
         coalesce(anchor.user_external_id, span.any_external_id), span.started_at,
         ending.ended_at, coalesce(ending.end_reason, 'open'), span.first_event_at,
         span.last_event_at
  FROM span
  JOIN anchor USING (source, session_id)
  LEFT JOIN ending USING (source, session_id)
  ORDER BY span.source, span.session_id  -- one lock order for concurrent batches
  ON CONFLICT (source, session_id) DO UPDATE SET
    (user_id, user_external_id) =
      (SELECT CASE WHEN new_first THEN excluded.user_id ELSE s.user_id END,
              CASE WHEN new_first THEN coalesce(excluded.user_external_id, s.user_external_id)
                   ELSE coalesce(s.user_external_id, excluded.user_external_id) END
       FROM (SELECT (excluded.started_at IS NULL,
                     coalesce(excluded.started_at, excluded.first_event_at), excluded.user_id)
                  < (s.started_at IS NULL, coalesce(s.started_at, s.first_event_at), s.user_id)
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

CREATE TRIGGER session_events_to_sessions
  AFTER INSERT ON caliper.session_events
  REFERENCING NEW TABLE AS new_events
  FOR EACH STATEMENT EXECUTE FUNCTION caliper.sessions_after_insert();

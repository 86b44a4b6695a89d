-- Fills caliper.sessions from the events stored before 003 installed its trigger.
-- A separate migration, hence a separate transaction: the trigger is already live, so an
-- event is merged by the trigger, by this statement, or by both, and merging twice changes
-- nothing (the rules are min/max, see 003). It reads caliper.session_events without blocking
-- the writer; a batch that touches a session this statement is updating waits for its commit.
-- The statement is the trigger's (003), reading the whole table instead of one batch.

WITH ev AS (
  SELECT source, session_id, action, event_time, user_id, user_external_id
  FROM caliper.session_events WHERE session_id IS NOT NULL
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
ORDER BY span.source, span.session_id
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

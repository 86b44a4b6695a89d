-- The sessions trigger, cheaper and steady (issue 12 item 3). Three changes to 013's
-- caliper.sessions_after_insert; the merge rules, and what caliper.sessions shows, are 013's.
--
-- One sort per batch. 013 computed each session's user, external id and end reason with ordered
-- aggregates (array_agg(... ORDER BY ...)[1]), and PostgreSQL sorts the input of such an
-- aggregate apart for every group: three sorts per session of the batch. Here the batch is sorted
-- once by session; two window passes over that order find each session's instants (its first
-- LoggedIn, first event, first end) and the users at its anchor, and the grouping reads the same
-- order with plain min/max. Two users at the anchor instant (a tie, rare) still go to the smaller
-- IRI, read only then. Side by side (bench/session_trigger_ab.sh, 200k campus rows in batches
-- of 1,000, medians of 9): 22.8 -> 20.1 µs of backend CPU per event; the same sessions (md5 of
-- caliper.session_rows).
-- One refinement: of the anchor's events of the chosen user, 013 took the external id of an
-- arbitrary one (null or not); now the smallest that is not null.
--
-- No JIT. A plan of the trigger is cached for the session and keeps what the planner chose for
-- the first transition table it saw, estimated at that table's size. After one large insert
-- (50,000 rows) its cost passed jit_above_cost, and every later batch of the session, however
-- small, was compiled again by LLVM: 420-770 ms for a batch of 1,000 rows instead of 21-30 ms
-- (batches of up to 15,000 rows stayed under the threshold). A connection that once inserted
-- tens of thousands of rows (a backfill, a large database.batch_max_events) paid it until it
-- closed. JIT pays for long analytic queries, not for this: jit = off for the function only.
--
-- One plan per connection. The trigger's statements read PL/pgSQL variables (whether the batch
-- has rows with texts in place, and their keys), so PostgreSQL may plan them again for every
-- batch with the values in place (a custom plan): it does when that plan looks cheaper than
-- the generic one, as it does here once the branch for texts in place folds away. Planning the
-- window passes then cost more than running them on a small batch: 150 µs per event in batches
-- of 10 rows (013: 66). plan_cache_mode = force_generic_plan plans each statement once per
-- connection. Side by side with 013 (bench/README.md): 57 against 56.5 µs per event in batches
-- of 10, 350 against 370 in batches of 1, 13.9 against 15.2 in batches of 1,000. No plan
-- choice here depends on the batch's size: the key check estimates a few distinct keys
-- whatever the size, and the rest is a sort, window passes and an aggregate over the batch.
--
-- Locks: none on tables; writers take the new function at their next batch.

CREATE OR REPLACE FUNCTION caliper.sessions_after_insert() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET jit = off
SET plan_cache_mode = force_generic_plan
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
  ), spans AS (
    -- The session's instants over the batch, by one sort of the batch (013's ordered aggregates
    -- sorted each session's events apart: a sort per session per aggregate).
    SELECT ev.*,
           min(event_time) FILTER (WHERE action = 'LoggedIn') OVER w AS w_started,
           min(event_time) OVER w AS w_first,
           min(event_time) FILTER (WHERE action <> 'LoggedIn') OVER w AS w_ended
    FROM ev
    WINDOW w AS (PARTITION BY session_prefix_ref, session_tail, source)
  ), anchored AS (
    -- The anchor: the events that give the session its user, its first LoggedIn, or when it has
    -- none its first event. Two users there are a tie (rare), which goes to the smaller IRI.
    SELECT a.*,
           min(a.user_ref) FILTER (WHERE a.anchor) OVER w AS w_user_min,
           max(a.user_ref) FILTER (WHERE a.anchor) OVER w AS w_user_max
    FROM (SELECT spans.*,
                 CASE WHEN w_started IS NULL THEN event_time = w_first
                      ELSE action = 'LoggedIn' AND event_time = w_started END AS anchor
          FROM spans) AS a
    WINDOW w AS (PARTITION BY session_prefix_ref, session_tail, source)
  ), merged AS (
    SELECT session_prefix_ref, session_tail, source,
           min(w_started) AS started_at, min(w_first) AS first_event_at,
           max(event_time) AS last_event_at, min(w_ended) AS ended_at,
           min(w_user_min) AS user_ref,
           min(user_external_id) FILTER (WHERE anchor) AS anchor_external_id,
           min(user_external_id) AS any_external_id,
           min(action) FILTER (WHERE action <> 'LoggedIn' AND event_time = w_ended) AS end_action,
           array_agg(user_ref) FILTER (WHERE anchor AND w_user_min <> w_user_max) AS tied_users,
           array_agg(user_external_id) FILTER (WHERE anchor AND w_user_min <> w_user_max) AS tied_external_ids
    FROM anchored
    GROUP BY session_prefix_ref, session_tail, source
  ), settled AS (
    -- A tie (two users at the anchor) is rare: its users' IRIs are read only then.
    SELECT m.session_prefix_ref, m.session_tail, m.source, m.started_at, m.first_event_at,
           m.last_event_at, m.ended_at,
           CASE WHEN m.tied_users IS NULL THEN m.user_ref
                ELSE (SELECT x.user_ref
                      FROM unnest(m.tied_users) AS x(user_ref)
                      JOIN caliper.texts AS t ON t.id = x.user_ref
                      ORDER BY t.value, x.user_ref LIMIT 1) END AS user_ref,
           coalesce(CASE WHEN m.tied_users IS NULL THEN m.anchor_external_id
                         ELSE (SELECT x.user_external_id
                               FROM unnest(m.tied_users, m.tied_external_ids) AS x(user_ref, user_external_id)
                               JOIN caliper.texts AS t ON t.id = x.user_ref
                               ORDER BY t.value, x.user_ref, x.user_external_id LIMIT 1) END,
                    m.any_external_id) AS user_external_id,
           CASE m.end_action WHEN 'LoggedOut' THEN 'L' WHEN 'TimedOut' THEN 'T' END::"char" AS end_reason
    FROM merged AS m
  )
  INSERT INTO caliper.session_rows AS s (session_prefix_ref, user_ref, first_event_at,
                                         last_event_at, started_at, ended_at, end_reason,
                                         source, session_tail, user_external_id)
  SELECT session_prefix_ref, user_ref, first_event_at, last_event_at, started_at, ended_at,
         coalesce(end_reason, 'o'), source, session_tail, user_external_id
  FROM settled
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

-- A week of SessionEvents for a 20,000-user campus, with the answers written down first.
-- Deterministic: every "random" choice is a hash of the seed and the thing chosen
-- (campus.rnd), so the data do not depend on the plan or on random()'s state.
--
--   campus.truth     one row per session as it really happened (the answer for caliper.sessions)
--   campus.planned   the distinct events the sensors emit for it (the answer for the event views)
--   campus.delivery  what reaches caliper-sessiond: planned events plus resends, shuffled over
--                    the whole week (a logout often arrives before its login), in batches of 1000
--
-- Shape: weekday logins in the ten minutes before the class changes at 08, 10, 12, 14, 16
-- and in the evening at 20 (weekends: 11, 15, 20); sessions of 1 to 100 minutes; 68% end by
-- LoggedOut, 27% by TimedOut, 5% never end; 4% of the ended ones lose their LoggedIn; 3% of
-- the logged-out ones log out twice; 5% of deliveries are resent; 1% of user-days have a
-- LoggedIn without a session id. Users whose number ends in 0 use Canvas, the rest Learn.
--
-- Runs as one PQexec (or psql -f) on a migrated database; afterwards caliper.session_events
-- holds the delivery and caliper.sessions what the trigger made of it.

SET max_parallel_workers_per_gather = 0;
SET TimeZone = 'UTC';

CREATE SCHEMA campus;

-- [0, 1) from the seed and a key.
CREATE FUNCTION campus.rnd(key text) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ('x' || substr(md5('campus-week-seed-7:' || key), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

CREATE TABLE campus.truth AS
WITH user_days AS (
  SELECT u, day, extract(isodow FROM day) >= 6 AS weekend
  FROM generate_series(1, 20000) AS u
  CROSS JOIN generate_series(timestamptz '2026-09-07 00:00+00', timestamptz '2026-09-13 00:00+00',
                             interval '1 day') AS day
), sessions AS (
  SELECT ud.u, ud.day, ud.weekend, k, ud.u || '/' || ud.day::date || '/' || k AS key
  FROM user_days AS ud
  CROSS JOIN LATERAL generate_series(
    1, floor(campus.rnd(ud.u || '/' || ud.day::date || '/count') * CASE WHEN ud.weekend THEN 2 ELSE 4 END)::int) AS k
), shaped AS (
  SELECT s.*,
         CASE WHEN s.weekend THEN (ARRAY[11, 15, 20])[1 + floor(campus.rnd(key || '/slot') * 3)::int]
              ELSE (ARRAY[8, 10, 12, 14, 16, 20])[1 + floor(campus.rnd(key || '/slot') * 6)::int] END AS slot,
         campus.rnd(key || '/end') AS end_draw
  FROM sessions AS s
)
SELECT CASE WHEN u % 10 = 0 THEN 'canvas-prod' ELSE 'learn-prod' END AS source,
       'https://lms.example.edu/sessions/' || md5(key) AS session_id,
       'https://lms.example.edu/users/' || u AS user_id,
       'S' || lpad(u::text, 6, '0') AS external_id,
       key,
       -- :50:00 to :58:59 before the class change
       day + make_interval(hours => slot - 1, mins => 50)
           + make_interval(secs => floor(campus.rnd(key || '/start') * 540)) AS login_at,
       make_interval(secs => 60 + floor(campus.rnd(key || '/duration') * 5940)) AS length,
       CASE WHEN end_draw < 0.68 THEN 'LoggedOut' WHEN end_draw < 0.95 THEN 'TimedOut' ELSE 'open' END AS end_reason,
       end_draw < 0.95 AND campus.rnd(key || '/lost-login') < 0.04 AS login_lost,
       end_draw < 0.68 AND campus.rnd(key || '/twice') < 0.03 AS logout_twice
FROM shaped;

-- The answer for caliper.sessions, in its columns.
ALTER TABLE campus.truth
  ADD COLUMN started_at timestamptz, ADD COLUMN ended_at timestamptz, ADD COLUMN user_external_id text;
UPDATE campus.truth SET
  started_at = CASE WHEN login_lost THEN NULL ELSE login_at END,
  ended_at = CASE WHEN end_reason = 'open' THEN NULL ELSE login_at + length END,
  -- TimedOut events carry no externalId (object.user is a bare IRI)
  user_external_id = CASE WHEN login_lost AND end_reason = 'TimedOut' THEN NULL ELSE external_id END;

ANALYZE campus.truth;

CREATE TABLE campus.planned AS
SELECT md5(key || '/in')::uuid AS event_id, source, 'LoggedIn'::caliper.session_action AS action,
       login_at AS event_time, user_id, external_id AS user_external_id, session_id
FROM campus.truth WHERE NOT login_lost
UNION ALL
SELECT md5(key || '/end')::uuid, source, end_reason::caliper.session_action, login_at + length,
       user_id, CASE WHEN end_reason = 'LoggedOut' THEN external_id END, session_id
FROM campus.truth WHERE end_reason <> 'open'
UNION ALL
SELECT md5(key || '/end2')::uuid, source, 'LoggedOut', login_at + length
         + make_interval(secs => 1 + floor(campus.rnd(key || '/gap') * 60)),
       user_id, external_id, session_id
FROM campus.truth WHERE logout_twice
UNION ALL
-- A sensor that names no session: these count as logins, but make no session.
SELECT md5(u || '/' || day::date || '/nosession')::uuid,
       CASE WHEN u % 10 = 0 THEN 'canvas-prod' ELSE 'learn-prod' END, 'LoggedIn',
       day + interval '9 hours 52 minutes', 'https://lms.example.edu/users/' || u,
       'S' || lpad(u::text, 6, '0'), NULL
FROM generate_series(1, 20000) AS u
CROSS JOIN generate_series(timestamptz '2026-09-07 00:00+00', timestamptz '2026-09-11 00:00+00',
                           interval '1 day') AS day
WHERE campus.rnd(u || '/' || day::date || '/nosession') < 0.01;

ANALYZE campus.planned;

CREATE TABLE campus.delivery AS
WITH copies AS (
  SELECT p.*, 1 AS copy FROM campus.planned AS p
  UNION ALL
  SELECT p.*, 2 FROM campus.planned AS p WHERE campus.rnd(p.event_id || '/resend') < 0.05
)
SELECT c.*, (row_number() OVER (ORDER BY campus.rnd(c.event_id || '/' || c.copy || '/order'),
                                        c.event_id, c.copy) - 1) / 1000 AS batch
FROM copies AS c;
CREATE INDEX ON campus.delivery (batch);
ANALYZE campus.delivery;

-- One call of caliper.write_events per batch, as the writer makes: the sessions trigger runs once
-- per batch.
DO $do$
DECLARE
  b bigint;
BEGIN
  FOR b IN SELECT DISTINCT batch FROM campus.delivery ORDER BY 1 LOOP
    PERFORM count(*) FROM (SELECT caliper.write_events(
      ids => array_agg(event_id ORDER BY event_id), sources => array_agg(source ORDER BY event_id),
      actions => array_agg(action ORDER BY event_id), event_times => array_agg(event_time ORDER BY event_id),
      actors => array_agg(CASE WHEN action = 'TimedOut' THEN 'https://lms.example.edu' ELSE user_id END ORDER BY event_id),
      users => array_agg(user_id ORDER BY event_id), user_lms_ids => array_agg(NULL::text),
      user_external_ids => array_agg(user_external_id ORDER BY event_id),
      session_ids => array_agg(session_id ORDER BY event_id), session_names => array_agg(NULL::text),
      user_agents => array_agg('Mozilla/5.0'::text), ip_addresses => array_agg('192.0.2.1'::inet),
      ed_apps => array_agg('https://lms.example.edu'::text),
      sensors => array_agg('https://lms.example.edu/sensor'::text),
      received => array_agg(event_time + interval '2 seconds' ORDER BY event_id),
      reject_received => '{}', reject_sources => '{}', reject_reasons => '{}', reject_raws => '{}')
    FROM campus.delivery WHERE batch = b) AS w;
  END LOOP;
END
$do$;

-- Ready-made views for analysts, comments on every table, view and column, and the
-- read-only role caliper_analyst. Only new objects and comments: no lock on data beyond
-- the brief SHARE UPDATE EXCLUSIVE that COMMENT takes.
--
-- Days and hours are those of the reading session's TimeZone setting
-- (SET TimeZone = 'Europe/Berlin' before querying gives local days); partitions are by UTC month.

CREATE VIEW caliper.daily_active_users AS
SELECT event_time::date AS day,
       count(DISTINCT user_id) AS active_users,
       count(DISTINCT user_id) FILTER (WHERE action = 'LoggedIn') AS users_logged_in,
       count(*) FILTER (WHERE action = 'LoggedIn') AS logins
FROM caliper.session_events
GROUP BY 1;

CREATE VIEW caliper.logins_by_hour AS
SELECT date_trunc('hour', event_time) AS hour,
       count(*) AS logins,
       count(DISTINCT user_id) AS users
FROM caliper.session_events
WHERE action = 'LoggedIn'
GROUP BY 1;

-- A sweep over the session starts (+1) and ends (-1) in time order, with a 0 step at every
-- hour. A session is online during [started_at, end), so the number online at instant t is
-- the sum of the steps at or before t (RANGE: all steps at t included). That number changes
-- only at steps, so an hour's peak is the highest sum at a step in it or at its start.
CREATE VIEW caliper.concurrent_sessions AS
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

CREATE VIEW caliper.session_end_reasons AS
SELECT coalesce(started_at, ended_at)::date AS day,
       end_reason,
       count(*) AS sessions,
       count(*) FILTER (WHERE started_at IS NULL) AS without_login,
       avg(duration) AS avg_duration,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY duration) AS median_duration
FROM caliper.sessions
GROUP BY 1, 2;

COMMENT ON SCHEMA caliper IS 'caliper-sessiond: Caliper SessionEvents, the sessions built from them, and views for analysts (see sql/README.md)';

COMMENT ON TABLE caliper.rejected_events IS 'SessionEvents or requests refused as invalid, with the JSON as received (bounded)';
COMMENT ON COLUMN caliper.rejected_events.id IS 'row number, in arrival order';
COMMENT ON COLUMN caliper.rejected_events.received_at IS 'when caliper-sessiond received the request';
COMMENT ON COLUMN caliper.rejected_events.source IS 'name of the API key that sent it';
COMMENT ON COLUMN caliper.rejected_events.reason IS 'why it was refused';
COMMENT ON COLUMN caliper.rejected_events.raw IS 'the event''s or the request body''s JSON as received, truncated to a bound';

COMMENT ON TABLE caliper.schema_migrations IS 'The migrations (sql/NNN_name.sql) applied to this database';
COMMENT ON COLUMN caliper.schema_migrations.version IS 'the NNN of the file';
COMMENT ON COLUMN caliper.schema_migrations.name IS 'the file name';
COMMENT ON COLUMN caliper.schema_migrations.applied_at IS 'when it was applied';

COMMENT ON TABLE caliper.sessions IS
  'One row per session (source, session_id), kept up to date by a trigger in the transaction that stores its events; right whatever order the events arrive in. Events without a session_id are not in it.';
COMMENT ON COLUMN caliper.sessions.source IS 'name of the API key that sent the session''s events';
COMMENT ON COLUMN caliper.sessions.session_id IS 'the session IRI (caliper.session_events.session_id)';
COMMENT ON COLUMN caliper.sessions.user_id IS 'the person (IRI): the user of the LoggedIn, else of the earliest event';
COMMENT ON COLUMN caliper.sessions.user_external_id IS 'the institution''s user id (batch_uid / SIS id) where any event of the session carries one';
COMMENT ON COLUMN caliper.sessions.started_at IS 'eventTime of the LoggedIn (the earliest, if several); NULL when no LoggedIn arrived';
COMMENT ON COLUMN caliper.sessions.ended_at IS 'eventTime of the earliest LoggedOut or TimedOut; NULL while the session is open';
COMMENT ON COLUMN caliper.sessions.end_reason IS 'LoggedOut, TimedOut, or open (no end yet); at equal times LoggedOut wins';
COMMENT ON COLUMN caliper.sessions.duration IS 'ended_at - started_at; NULL when either is unknown';
COMMENT ON COLUMN caliper.sessions.first_event_at IS 'eventTime of the session''s earliest event (the start when the LoggedIn is missing)';
COMMENT ON COLUMN caliper.sessions.last_event_at IS 'eventTime of the session''s latest event (used by retention)';

COMMENT ON VIEW caliper.daily_active_users IS 'Per day (in the session TimeZone): the distinct users with any SessionEvent, those who logged in, and the logins';
COMMENT ON COLUMN caliper.daily_active_users.day IS 'the day, in the session TimeZone';
COMMENT ON COLUMN caliper.daily_active_users.active_users IS 'distinct users with a LoggedIn, LoggedOut or TimedOut that day';
COMMENT ON COLUMN caliper.daily_active_users.users_logged_in IS 'distinct users with a LoggedIn that day';
COMMENT ON COLUMN caliper.daily_active_users.logins IS 'LoggedIn events that day';

COMMENT ON VIEW caliper.logins_by_hour IS 'Per hour (in the session TimeZone) with at least one login: LoggedIn events and distinct users';
COMMENT ON COLUMN caliper.logins_by_hour.hour IS 'start of the hour';
COMMENT ON COLUMN caliper.logins_by_hour.logins IS 'LoggedIn events in the hour (including those without a session_id)';
COMMENT ON COLUMN caliper.logins_by_hour.users IS 'distinct users who logged in during the hour';

COMMENT ON VIEW caliper.concurrent_sessions IS
  'Per hour from the first to the last session start or end: sessions online at its start and the peak number online at any instant in it. A session is online from its LoggedIn until its LoggedOut/TimedOut; one with no end yet counts until now, for at most 24 hours; one with no LoggedIn is not counted.';
COMMENT ON COLUMN caliper.concurrent_sessions.hour IS 'start of the hour (session TimeZone)';
COMMENT ON COLUMN caliper.concurrent_sessions.online_at_start IS 'sessions online at the start of the hour';
COMMENT ON COLUMN caliper.concurrent_sessions.peak_online IS 'the most sessions online at the same instant during the hour';

COMMENT ON VIEW caliper.session_end_reasons IS 'Sessions per day they started (or ended, when the LoggedIn is missing) and how they ended, with their durations';
COMMENT ON COLUMN caliper.session_end_reasons.day IS 'day of started_at, else of ended_at (session TimeZone)';
COMMENT ON COLUMN caliper.session_end_reasons.end_reason IS 'LoggedOut, TimedOut or open';
COMMENT ON COLUMN caliper.session_end_reasons.sessions IS 'number of sessions';
COMMENT ON COLUMN caliper.session_end_reasons.without_login IS 'of which no LoggedIn arrived (duration unknown)';
COMMENT ON COLUMN caliper.session_end_reasons.avg_duration IS 'mean duration of those with a known one';
COMMENT ON COLUMN caliper.session_end_reasons.median_duration IS 'median duration of those with a known one';

-- Read-only access for analysts: GRANT caliper_analyst TO some_login_role.
-- Roles belong to the cluster, not the database: another database may have created it
-- already, or be creating it right now.
DO $do$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'caliper_analyst') THEN
    CREATE ROLE caliper_analyst NOLOGIN;
    COMMENT ON ROLE caliper_analyst IS 'Read-only access to the caliper schema, for analysts';
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- created concurrently by another database's migration
END
$do$;
GRANT USAGE ON SCHEMA caliper TO caliper_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA caliper TO caliper_analyst;
-- Tables created later by this role (the monthly partitions, future migrations) too.
ALTER DEFAULT PRIVILEGES IN SCHEMA caliper GRANT SELECT ON TABLES TO caliper_analyst;

-- Schema caliper: one row per SessionEvent (DESIGN section 3) and what was refused.
-- Every statement here runs in one transaction, applied by the migration runner.
-- It only creates new objects, so it takes no lock on existing data.

CREATE SCHEMA IF NOT EXISTS caliper;

CREATE TYPE caliper.session_action AS ENUM ('LoggedIn', 'LoggedOut', 'TimedOut');

-- Partitioned by event_time; monthly partitions are added by a later migration, rows that
-- fall outside them land in the default partition. The primary key includes the partition
-- key (PostgreSQL requires it), and (event_id, event_time) still makes a resend a duplicate:
-- a resent event carries the same id and the same eventTime.
CREATE TABLE caliper.session_events (
  event_id         uuid                   NOT NULL,
  source           text                   NOT NULL,
  action           caliper.session_action NOT NULL,
  event_time       timestamptz            NOT NULL,
  actor_id         text                   NOT NULL,
  user_id          text                   NOT NULL,
  user_lms_id      text,
  user_external_id text,
  session_id       text,
  session_name     text,
  user_agent       text,
  ip_address       inet,
  ed_app_id        text,
  sensor           text                   NOT NULL,
  received_at      timestamptz            NOT NULL,
  PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);

CREATE TABLE caliper.session_events_default PARTITION OF caliper.session_events DEFAULT;

COMMENT ON TABLE caliper.session_events IS 'One row per Caliper SessionEvent; see DESIGN.md section 3';
COMMENT ON COLUMN caliper.session_events.source IS 'name of the API key that sent the event';
COMMENT ON COLUMN caliper.session_events.received_at IS 'when caliper-sessiond accepted the request';

CREATE TABLE caliper.rejected_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  received_at timestamptz NOT NULL,
  source      text        NOT NULL,
  reason      text        NOT NULL,
  raw         text
);

CREATE INDEX rejected_events_received_at_idx ON caliper.rejected_events (received_at);

COMMENT ON TABLE caliper.rejected_events IS 'SessionEvents or requests refused as invalid, with the JSON as received (bounded)';

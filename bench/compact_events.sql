-- The events of the compact layout prototyped for issue 12 item 3 (bench/compact_storage.sh,
-- bench/compact_analytics.sh): the long repeated values as integer keys of a dictionary
-- (cx.texts, cx.sources), the session as the key of its row; today's primary key.
CREATE TABLE cx.events (
  event_time       timestamptz NOT NULL,
  received_at      timestamptz NOT NULL,
  session          bigint,
  event_id         uuid        NOT NULL,
  actor            integer     NOT NULL,
  user_id          integer     NOT NULL,
  user_lms_id      integer,
  user_external_id integer,
  user_agent       integer,
  ed_app           integer,
  sensor           integer     NOT NULL,
  source           smallint    NOT NULL,
  action           caliper.session_action NOT NULL,
  ip_address       inet,
  PRIMARY KEY (event_id, event_time)
) PARTITION BY RANGE (event_time);
CREATE TABLE cx.events_default PARTITION OF cx.events DEFAULT;

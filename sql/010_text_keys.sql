-- The writer keeps caliper.texts' keys in memory (issue 12 item 3, step 2 of the compact
-- storage): a batch whose texts it knows is one plain INSERT of keys, with no lookup in the
-- database. It asks caliper.text_keys for the texts it does not know, or knew for too long.
--
-- Texts no row uses any more (after retention dropped their months, or after forget) can then
-- be deleted without racing a writer: every use of a key follows, within a short time (the
-- writer's 10 minutes), a call of caliper.text_keys that found its resolved_at in the last hour
-- or set it; caliper.prune_texts (011) deletes only texts not resolved for a day or more, so no
-- writer still holds their keys and every row that used them was committed long before.
--
-- Locks: ACCESS EXCLUSIVE on caliper.texts for a moment (a new column with a constant default
-- rewrites nothing), under the runner's 5 s lock_timeout.

ALTER TABLE caliper.texts ADD COLUMN resolved_at timestamptz NOT NULL DEFAULT now();
COMMENT ON COLUMN caliper.texts.resolved_at IS
  'when a writer asked for this text''s key (caliper.text_keys; updated at most hourly); caliper.prune_texts keeps texts resolved in the last day';

-- The keys of `vals` (NULLs and repeats ignored), adding the texts that are new, in digest
-- order (one lock order for all writers, so two writers never deadlock). A text that a
-- concurrent writer is adding is waited for, then found by the lookup (a new snapshot). Marks
-- each text resolved now, unless it was in the last hour: a writer uses a key for 10 minutes
-- after asking, so every key in use was resolved within 1 h 10 min, far inside prune_texts'
-- day; and a text asked for with every batch (caliper.write_events) is neither rewritten nor
-- locked each time. A text prune_texts is deleting is waited for, then added again.
CREATE FUNCTION caliper.text_keys(vals text[]) RETURNS TABLE (id bigint, value text)
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  -- Each distinct text once, with its digest (caliper.write_events passes every row's).
  wanted bytea[];
  texts_of text[];
BEGIN
  SELECT array_agg(caliper.text_digest(d.v) ORDER BY caliper.text_digest(d.v)),
         array_agg(d.v ORDER BY caliper.text_digest(d.v))
  INTO wanted, texts_of
  FROM (SELECT DISTINCT v FROM unnest(vals) AS v WHERE v IS NOT NULL) AS d;
  -- Not ON CONFLICT DO UPDATE ... WHERE: that locks every row it meets until commit, also those
  -- it leaves alone, and caliper.write_events asks for the same few texts in every batch. A
  -- text resolved within the hour is not touched, and prune_texts (>= 1 day) leaves it alone.
  UPDATE caliper.texts AS t SET resolved_at = now()
  WHERE t.digest = ANY (wanted) AND t.resolved_at < now() - interval '1 hour';
  INSERT INTO caliper.texts AS t (digest, value)
  SELECT * FROM unnest(wanted, texts_of)
  ON CONFLICT (digest) DO NOTHING;
  RETURN QUERY
  SELECT t.id, t.value FROM caliper.texts AS t WHERE t.digest = ANY (wanted);
END
$fn$;
COMMENT ON FUNCTION caliper.text_keys(text[]) IS
  'The caliper.texts keys of the given texts, adding those that are new; marks them resolved now (see caliper.prune_texts)';

-- caliper.write_events (009) finds its keys with caliper.text_keys too, so the texts it uses are
-- marked resolved and prune_texts cannot delete them under it. Same arguments and result.
CREATE OR REPLACE FUNCTION caliper.write_events(
    ids uuid[], sources text[], actions caliper.session_action[], event_times timestamptz[],
    actors text[], users text[], user_lms_ids text[], user_external_ids text[],
    session_ids text[], session_names text[], user_agents text[], ip_addresses inet[],
    ed_apps text[], sensors text[], received timestamptz[],
    reject_received timestamptz[], reject_sources text[], reject_reasons text[], reject_raws text[])
RETURNS TABLE (inserted_id uuid, inserted_time timestamptz)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
  INSERT INTO caliper.rejected_events (received_at, source, reason, raw)
  SELECT * FROM unnest(reject_received, reject_sources, reject_reasons, reject_raws);

  -- text_keys returns every key it is given, also of texts a concurrent writer is adding (it
  -- waits for them, then looks them up with a new snapshot): the insert below reads only its
  -- result.
  RETURN QUERY
  WITH k AS MATERIALIZED (
    SELECT * FROM caliper.text_keys(user_agents || ed_apps || sensors
                                    || ARRAY(SELECT x.a FROM unnest(actors, users) AS x(a, u) WHERE x.a <> x.u))
  ), b AS (
    SELECT * FROM unnest(ids, sources, actions, event_times, actors, users, user_lms_ids,
                         user_external_ids, session_ids, session_names, user_agents, ip_addresses,
                         ed_apps, sensors, received)
      AS b(id, source, action, event_time, actor, usr, lms_id, external_id, session_id,
           session_name, user_agent, ip_address, ed_app, sensor, received_at)
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

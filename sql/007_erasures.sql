-- caliper.erasures: the record of each `caliper-sessiond forget` (GDPR art. 17, issue 15).
--
-- Never the person's id itself: a salted SHA-256 of the id as the operator gave it, so the
-- data protection officer can answer "was this person erased, when, how much?" by hashing the
-- id again (caliper.erasure_hash), while the table alone names nobody. The salt is random per
-- database (gen_random_uuid() draws from the server's strong random source: 244 random bits),
-- made here once, and readable only by the owner of the schema: without it a list of known
-- ids cannot be hashed and compared. Restoring a dump keeps the salt, so the hashes still match.
--
-- Analysts (caliper_analyst) see when erasures happened and how many rows went, which explains
-- a drop in their counts; not the hashes, and not the salt.
-- Locks: only new objects.

CREATE TABLE caliper.erasure_salt (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  salt     bytea   NOT NULL CHECK (octet_length(salt) >= 16)
);

INSERT INTO caliper.erasure_salt (salt)
SELECT decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');

CREATE TABLE caliper.erasures (
  id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  erased_at  timestamptz NOT NULL DEFAULT now(),
  user_hash  bytea       NOT NULL,
  users      bigint      NOT NULL,
  events     bigint      NOT NULL,
  sessions   bigint      NOT NULL,
  rejects    bigint      NOT NULL
);

CREATE INDEX erasures_user_hash_idx ON caliper.erasures (user_hash);

-- The hash of an id as `forget --user ID` stores it: SHA-256 of the salt followed by the id's
-- UTF-8 bytes. Only who may read the salt can compute it.
CREATE FUNCTION caliper.erasure_hash(user_id text) RETURNS bytea
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $fn$
  SELECT sha256(s.salt || convert_to(user_id, 'UTF8')) FROM caliper.erasure_salt AS s
$fn$;

COMMENT ON TABLE caliper.erasure_salt IS 'The random salt of caliper.erasures.user_hash (one row, readable by the schema owner only)';
COMMENT ON TABLE caliper.erasures IS 'One row per erasure on request (caliper-sessiond forget --user ID): when and how many rows; never the id';
COMMENT ON COLUMN caliper.erasure_salt.salt IS '32 bytes from two random UUIDs (244 random bits), made once by this migration';
COMMENT ON COLUMN caliper.erasure_salt.only_row IS 'always true: keeps the table to one row';
COMMENT ON COLUMN caliper.erasures.id IS 'the erasure''s number, in the order they were made';
COMMENT ON COLUMN caliper.erasures.erased_at IS 'when the erasure was committed';
COMMENT ON COLUMN caliper.erasures.user_hash IS 'caliper.erasure_hash(ID) of the id given to forget: SHA-256 of the per-database salt and the id';
COMMENT ON COLUMN caliper.erasures.users IS 'distinct user IRIs whose rows were erased (more than 1: the id was shared)';
COMMENT ON COLUMN caliper.erasures.events IS 'rows deleted from caliper.session_events';
COMMENT ON COLUMN caliper.erasures.sessions IS 'rows deleted from caliper.sessions';
COMMENT ON COLUMN caliper.erasures.rejects IS 'rows deleted from caliper.rejected_events (their JSON named the person)';
COMMENT ON FUNCTION caliper.erasure_hash(text) IS 'The user_hash that forget stores for an id: look an erasure up with WHERE user_hash = caliper.erasure_hash(''...'')';

-- 005 gives caliper_analyst SELECT on every new table of the schema: take back what it should not see.
REVOKE ALL ON caliper.erasure_salt FROM caliper_analyst;
REVOKE ALL ON caliper.erasures FROM caliper_analyst;
GRANT SELECT (id, erased_at, users, events, sessions, rejects) ON caliper.erasures TO caliper_analyst;
REVOKE ALL ON FUNCTION caliper.erasure_hash(text) FROM PUBLIC;

-- caliper.sessions: half of each new page left free, so that the update a session's end makes
-- (LoggedOut or TimedOut after its LoggedIn, in a later batch) stays on the row's page as a HOT
-- update: no new entries in the table's three indexes, and the old version pruned in place.
--
-- At fillfactor 90 (003) a page of ~20 sessions had room for two or three such updates; the
-- others moved the row to another page and added an entry to every index. Measured with
-- bench/sessions_cost.sh (a LoggedIn and, five COPYs of 1,000 rows later, its end; 2026-12-01,
-- bench/README.md "Keeping caliper.sessions"): HOT share of the updates 9% -> 100%, and the
-- trigger's PostgreSQL CPU per event about a third lower.
--
-- Only pages filled from now on get the room; rows already stored stay where they are. Lock:
-- SHARE UPDATE EXCLUSIVE on caliper.sessions for a moment (inserts and updates go on).

ALTER TABLE caliper.sessions SET (fillfactor = 50);

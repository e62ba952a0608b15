-- cronport store, PostgreSQL flavour: checks before delivery, held runs.
-- Keep this file in step with ../sqlite/0011_checks.sql.
--
-- A job's checks judge each rendered output before it is delivered. A run
-- whose output fails one is 'held' (kept until released or discarded, or
-- until held_until passes), 'skipped' (error says which check), or failed.
-- A held run that is dropped, by hand or when its hold expires, ends
-- 'discarded'. Each run records its columns and their types (output_schema, JSON)
-- so the next run's schema check can compare, and which check failed.
ALTER TABLE runs DROP CONSTRAINT runs_status_check;
ALTER TABLE runs ADD CONSTRAINT runs_status_check
    CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                      'cancelled', 'interrupted', 'skipped', 'held', 'discarded'));
-- The output's columns: [{"name": ..., "type": ...}], when a check asked.
ALTER TABLE runs ADD COLUMN output_schema TEXT;
-- The check that failed (not_empty, min_rows, ...); error says why.
ALTER TABLE runs ADD COLUMN failed_check TEXT;
-- A held run is discarded at this time (unix ms) unless released first.
ALTER TABLE runs ADD COLUMN held_until BIGINT;

-- Held runs by when they expire, for the maintenance pass.
CREATE INDEX runs_held ON runs (held_until) WHERE status = 'held';

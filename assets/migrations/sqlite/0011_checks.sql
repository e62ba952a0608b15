-- no-transaction
-- cronport store, SQLite flavour: checks before delivery, held runs.
-- Keep this file in step with ../postgres/0011_checks.sql.
--
-- A job's checks judge each rendered output before it is delivered. A run
-- whose output fails one is 'held' (kept until released or discarded, or
-- until held_until passes), 'skipped' (error says which check), or failed.
-- A held run that is dropped, by hand or when its hold expires, ends
-- 'discarded'. Each run records its columns and their types (output_schema, JSON)
-- so the next run's schema check can compare, and which check failed.
--
-- SQLite cannot change a CHECK constraint in place, so the runs table is
-- rebuilt as in 0005 (foreign keys off outside the transaction, a new table,
-- the rows copied, the old one dropped, the new one renamed, its indexes made
-- again), carrying the id sequence over. It comes after 0010 (retry_at),
-- whose column it copies: a rebuild numbered before a migration that stores
-- may already have applied would drop that migration's column in them.

PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

CREATE TABLE runs_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    "trigger"     TEXT    NOT NULL
                  CHECK ("trigger" IN ('schedule', 'manual', 'catch_up', 'retry', 'backfill')),
    status        TEXT    NOT NULL
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                    'cancelled', 'interrupted', 'skipped',
                                    'held', 'discarded')),
    slot          INTEGER,
    scheduled_for INTEGER NOT NULL,
    queued_at     INTEGER NOT NULL,
    started_at    INTEGER,
    finished_at   INTEGER,
    attempt       INTEGER NOT NULL DEFAULT 0,
    "rows"        INTEGER,
    bytes         INTEGER,
    outputs       TEXT    NOT NULL DEFAULT '[]',
    error         TEXT,
    -- No foreign key: instance rows are pruned while history stays.
    instance_id   TEXT,
    -- No foreign key: pruning the original must not touch (or scan for) its
    -- retries.
    retry_of      INTEGER,
    waiting       INTEGER NOT NULL DEFAULT 0 CHECK (waiting IN (0, 1)),
    cancel_requested INTEGER,
    content_hash  TEXT,
    unchanged     INTEGER NOT NULL DEFAULT 0 CHECK (unchanged IN (0, 1)),
    -- See 0010_retry_at.sql.
    retry_at      INTEGER,
    -- The output's columns: [{"name": ..., "type": ...}], when a check asked.
    output_schema TEXT,
    -- The check that failed (not_empty, min_rows, ...); error says why.
    failed_check  TEXT,
    -- A held run is discarded at this time (unix ms) unless released first.
    held_until    INTEGER,
    -- A slot runs once, even with several instances: they race on this
    -- constraint. NULL slots (manual runs, retries, backfills) never conflict.
    UNIQUE (job_id, slot)
);

INSERT INTO runs_new (id, job_id, "trigger", status, slot, scheduled_for, queued_at,
                      started_at, finished_at, attempt, "rows", bytes, outputs, error,
                      instance_id, retry_of, waiting, cancel_requested, content_hash,
                      unchanged, retry_at)
SELECT id, job_id, "trigger", status, slot, scheduled_for, queued_at,
       started_at, finished_at, attempt, "rows", bytes, outputs, error,
       instance_id, retry_of, waiting, cancel_requested, content_hash, unchanged,
       retry_at
FROM runs;

-- The new table's sequence starts where the old one was, not at its
-- highest surviving id.
DELETE FROM sqlite_sequence WHERE name = 'runs_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'runs_new', seq FROM sqlite_sequence WHERE name = 'runs';

DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;

-- As in 0001, 0004, 0005 and 0008 (0010 made none).
CREATE INDEX runs_job_id ON runs (job_id, id);
CREATE INDEX runs_status_id ON runs (status, id);
CREATE INDEX runs_job_status_id ON runs (job_id, status, id);
CREATE INDEX runs_queue ON runs (scheduled_for, id)
    WHERE status = 'queued' AND instance_id IS NULL AND waiting = 0;
CREATE INDEX runs_waiting ON runs (job_id) WHERE waiting = 1;
CREATE INDEX runs_cancel_requested ON runs (instance_id) WHERE cancel_requested IS NOT NULL;
CREATE UNIQUE INDEX runs_backfill_once ON runs (job_id, scheduled_for)
    WHERE "trigger" = 'backfill' AND status IN ('queued', 'running');
CREATE INDEX runs_job_delivered ON runs (job_id, finished_at)
    WHERE content_hash IS NOT NULL AND unchanged = 0 AND status = 'succeeded';

-- Held runs by when they expire, for the maintenance pass.
CREATE INDEX runs_held ON runs (held_until) WHERE status = 'held';

COMMIT;

PRAGMA foreign_keys = ON;

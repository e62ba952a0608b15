-- no-transaction
-- cronport store, SQLite flavour: runs of a backfill.
-- Keep this file in step with ../postgres/0005_backfill.sql.
--
-- A backfill runs a job for past slots by hand: trigger 'backfill'. SQLite
-- cannot change a CHECK constraint in place, so the runs table is rebuilt
-- the way SQLite's documentation says (ALTER TABLE, "other kinds of table
-- schema changes"): foreign keys off outside the transaction, a new table,
-- the rows copied, the old one dropped, the new one renamed, its indexes
-- made again. The run ids'
-- sequence is carried over, so no pruned run's id is handed out again (kept
-- outputs are named by run id).

PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

CREATE TABLE runs_new (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id        INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    "trigger"     TEXT    NOT NULL
                  CHECK ("trigger" IN ('schedule', 'manual', 'catch_up', 'retry', 'backfill')),
    status        TEXT    NOT NULL
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                    'cancelled', 'interrupted', 'skipped')),
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
    -- A slot runs once, even with several instances: they race on this
    -- constraint. NULL slots (manual runs, retries, backfills) never conflict.
    UNIQUE (job_id, slot)
);

INSERT INTO runs_new (id, job_id, "trigger", status, slot, scheduled_for, queued_at,
                      started_at, finished_at, attempt, "rows", bytes, outputs, error,
                      instance_id, retry_of, waiting, cancel_requested)
SELECT id, job_id, "trigger", status, slot, scheduled_for, queued_at,
       started_at, finished_at, attempt, "rows", bytes, outputs, error,
       instance_id, retry_of, waiting, cancel_requested
FROM runs;

-- The new table's sequence starts where the old one was, not at its
-- highest surviving id.
DELETE FROM sqlite_sequence WHERE name = 'runs_new';
INSERT INTO sqlite_sequence (name, seq)
SELECT 'runs_new', seq FROM sqlite_sequence WHERE name = 'runs';

DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;

-- As in 0001 and 0004.
CREATE INDEX runs_job_id ON runs (job_id, id);
CREATE INDEX runs_status_id ON runs (status, id);
CREATE INDEX runs_job_status_id ON runs (job_id, status, id);
CREATE INDEX runs_queue ON runs (scheduled_for, id)
    WHERE status = 'queued' AND instance_id IS NULL AND waiting = 0;
CREATE INDEX runs_waiting ON runs (job_id) WHERE waiting = 1;
CREATE INDEX runs_cancel_requested ON runs (instance_id) WHERE cancel_requested IS NOT NULL;

-- A backfill's run stands for a past slot (scheduled_for) but has no slot of
-- its own, so a slot can be run again on request (--rerun). Two backfills
-- over the same range at once still queue each slot once: at most one
-- backfill run of a slot is queued or running.
CREATE UNIQUE INDEX runs_backfill_once ON runs (job_id, scheduled_for)
    WHERE "trigger" = 'backfill' AND status IN ('queued', 'running');

COMMIT;

PRAGMA foreign_keys = ON;

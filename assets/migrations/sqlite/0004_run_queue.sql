-- cronport store, SQLite flavour: the run queue that instances share.
-- Keep this file in step with ../postgres/0004_run_queue.sql.
--
-- A due slot is a run row with status 'queued' and no instance_id: every
-- instance may put it there (the unique (job_id, slot) keeps it one row), and
-- the instance that takes it marks it running as itself, in one transaction
-- that also settles the job's overlap policy. Nothing owns a queued row, so
-- nothing is lost when an instance dies before taking it.

-- 1: this row waits for its job's running run to end (overlap = queue_one,
-- cancel_previous, or caught-up slots and retries of an exclusive job). It is
-- not looked at again until that run ends; the end sets it back to 0.
ALTER TABLE runs ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0 CHECK (waiting IN (0, 1));
-- When another instance asked for this running run to be cancelled
-- (overlap = cancel_previous); its own instance reads it and cancels.
ALTER TABLE runs ADD COLUMN cancel_requested INTEGER;

-- The queue in the order it is taken.
CREATE INDEX runs_queue ON runs (scheduled_for, id)
    WHERE status = 'queued' AND instance_id IS NULL AND waiting = 0;
-- Waiting rows by job, woken when a run of the job ends.
CREATE INDEX runs_waiting ON runs (job_id) WHERE waiting = 1;
-- Cancel requests by instance.
CREATE INDEX runs_cancel_requested ON runs (instance_id) WHERE cancel_requested IS NOT NULL;

-- 0: this process only runs one job now and then (cronport jobs run): it
-- takes no share of the queue.
ALTER TABLE instances ADD COLUMN takes_work INTEGER NOT NULL DEFAULT 1 CHECK (takes_work IN (0, 1));

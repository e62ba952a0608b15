-- cronport store, PostgreSQL flavour: runs of a backfill.
-- Keep this file in step with ../sqlite/0005_backfill.sql.

-- A backfill runs a job for past slots by hand: trigger 'backfill'.
ALTER TABLE runs DROP CONSTRAINT runs_trigger_check;
ALTER TABLE runs ADD CONSTRAINT runs_trigger_check
    CHECK ("trigger" IN ('schedule', 'manual', 'catch_up', 'retry', 'backfill'));

-- A backfill's run stands for a past slot (scheduled_for) but has no slot of
-- its own, so a slot can be run again on request (--rerun). Two backfills
-- over the same range at once still queue each slot once: at most one
-- backfill run of a slot is queued or running.
CREATE UNIQUE INDEX runs_backfill_once ON runs (job_id, scheduled_for)
    WHERE "trigger" = 'backfill' AND status IN ('queued', 'running');

-- cronport store, SQLite flavour: catch-up plans awaiting approval.
-- Keep this file in step with ../postgres/0006_catchup_plans.sql.
--
-- A job with catch_up = "ask" does not run the slots it missed while no
-- instance was running, nor skip them: the instance that notices keeps them
-- here as a plan, and a person approves all, some or none of them
-- (cronport catchup, or the console). Approved slots go into the run queue
-- as runs with trigger 'catch_up' (UNIQUE (job_id, slot) there keeps two
-- approvals from running a slot twice); declined ones are recorded skipped.
CREATE TABLE catchup_plans (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    -- The span, for listing without reading the slots.
    first_slot  INTEGER NOT NULL,
    last_slot   INTEGER NOT NULL,
    slot_count  INTEGER NOT NULL CHECK (slot_count > 0),
    -- The slots oldest first as JSON [[slot, due], ...] in unix ms: due is
    -- when the slot was to run (its calendar, blackout and jitter applied),
    -- so an approved slot runs with the same identity and window.
    slots       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    -- The instance that noticed the downtime. No foreign key: instance rows
    -- are pruned while plans stay.
    instance_id TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'approved', 'declined')),
    decided_by  TEXT,
    decided_at  INTEGER,
    -- How many of the slots were approved (the rest were declined).
    approved    INTEGER,
    -- One plan per job and downtime, even when several instances start at
    -- once and each notices it: they race on this, and on the overlap check
    -- made under the job's lock when a plan is recorded.
    UNIQUE (job_id, first_slot)
);

CREATE INDEX catchup_plans_pending ON catchup_plans (job_id) WHERE status = 'pending';

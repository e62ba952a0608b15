-- cronport store, PostgreSQL flavour: the audit trail.
-- Keep this file in step with ../sqlite/0007_audit.sql.
--
-- One row per change to jobs and per operator action (apply, console save
-- and delete, pause and resume, run now, dry run, retry, cancel, redeliver,
-- prune), written by the process the operator used: an attached console
-- records its own user and host, not those of the instance that carried
-- the request out. Rows older than [scheduler] audit_days are pruned daily.
CREATE TABLE audit (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          BIGINT  NOT NULL,
    -- Who: the OS user and host of the process the operator used.
    actor_user  TEXT    NOT NULL,
    actor_host  TEXT    NOT NULL,
    -- How: console, cli or config (jobs added from the config at start).
    way         TEXT    NOT NULL CHECK (way IN ('console', 'cli', 'config')),
    -- The scheduler instance that carried the action out, when one did
    -- (host:pid), else the process that wrote the store itself.
    instance    TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    -- The job it concerns; no foreign key: a deleted job's entries stay.
    job         TEXT,
    run_id      BIGINT,
    -- What happened, in words ("done", or why it was refused).
    outcome     TEXT    NOT NULL,
    -- A job's definition (JSON) before and after a change.
    before      TEXT,
    after       TEXT
);

CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_job_at ON audit (job, at);

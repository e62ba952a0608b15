-- cronport store, PostgreSQL flavour of the first schema.
--
-- The same SQL runs on SQLite and PostgreSQL through sqlx's Any driver, which
-- only knows integers, floats, text and blobs. So: times are unix
-- milliseconds (BIGINT), booleans are 0/1, lists are JSON text.
-- Keep this file in step with ../sqlite/0001_initial.sql.

-- Counters other processes poll cheaply; jobs_version is bumped on every job
-- change so a running instance notices edits with one query.
CREATE TABLE store_meta (
    key   TEXT    PRIMARY KEY NOT NULL,
    value BIGINT  NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('jobs_version', 0);

-- Identity columns everywhere ids are shown to people or used for paging: ids of
-- deleted rows are never handed out again.
CREATE TABLE jobs (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    schedule   TEXT    NOT NULL,
    cron       TEXT    NOT NULL,
    timezone   TEXT    NOT NULL,
    definition TEXT    NOT NULL,
    paused     BIGINT  NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    created_at BIGINT  NOT NULL,
    updated_at BIGINT  NOT NULL,
    version    BIGINT  NOT NULL DEFAULT 1
);

CREATE TABLE runs (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    "trigger"     TEXT    NOT NULL
                  CHECK ("trigger" IN ('schedule', 'manual', 'catch_up', 'retry')),
    status        TEXT    NOT NULL
                  CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                    'cancelled', 'interrupted', 'skipped')),
    slot          BIGINT,
    scheduled_for BIGINT  NOT NULL,
    queued_at     BIGINT  NOT NULL,
    started_at    BIGINT,
    finished_at   BIGINT,
    attempt       BIGINT  NOT NULL DEFAULT 0,
    "rows"        BIGINT,
    bytes         BIGINT,
    outputs       TEXT    NOT NULL DEFAULT '[]',
    error         TEXT,
    -- No foreign key: instance rows are pruned while history stays.
    instance_id   TEXT,
    -- No foreign key: pruning the original must not touch (or scan for) its
    -- retries.
    retry_of      BIGINT,
    -- A slot runs once, even with several instances: they race on this
    -- constraint. NULL slots (manual runs, retries) never conflict.
    UNIQUE (job_id, slot)
);
-- History of one job, newest first.
CREATE INDEX runs_job_id ON runs (job_id, id);
-- Runs in one state (running now, recovery, failures), newest first.
CREATE INDEX runs_status_id ON runs (status, id);
-- Per-job counters and one job's runs in one state.
CREATE INDEX runs_job_status_id ON runs (job_id, status, id);

CREATE TABLE run_attempts (
    run_id      BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    attempt     BIGINT  NOT NULL,
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    status      TEXT    NOT NULL
                CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled',
                                  'interrupted')),
    error       TEXT,
    PRIMARY KEY (run_id, attempt)
);

CREATE TABLE run_logs (
    run_id  BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     BIGINT  NOT NULL,
    ts      BIGINT  NOT NULL,
    level   TEXT    NOT NULL,
    message TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE instances (
    id           TEXT    PRIMARY KEY NOT NULL,
    hostname     TEXT    NOT NULL,
    pid          BIGINT  NOT NULL,
    version      TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    heartbeat_at BIGINT  NOT NULL,
    stopped_at   BIGINT
);

-- One row, always present, so taking the lease is a single conditional
-- UPDATE on both databases.
CREATE TABLE scheduler_lease (
    id          BIGINT  PRIMARY KEY CHECK (id = 1),
    instance_id TEXT,
    expires_at  BIGINT  NOT NULL
);
INSERT INTO scheduler_lease (id, instance_id, expires_at) VALUES (1, NULL, 0);

CREATE TABLE commands (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind          TEXT    NOT NULL
                  CHECK (kind IN ('run', 'pause', 'resume', 'pause_all', 'resume_all',
                                  'cancel', 'reload')),
    job_name      TEXT,
    run_id        BIGINT,
    requested_at  BIGINT  NOT NULL,
    taken_by      TEXT,
    taken_at      BIGINT,
    completed     BIGINT  NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
    result_run_id BIGINT,
    error         TEXT
);
-- The lease holder polls for untaken commands about once a second.
CREATE INDEX commands_pending ON commands (id) WHERE taken_by IS NULL;

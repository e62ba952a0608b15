-- cronport store, PostgreSQL flavour: per-destination outcome of each run.
-- Keep this file in step with ../sqlite/0002_deliveries.sql.

-- One row per run and destination, replaced by each attempt and by
-- `runs redeliver`. fire_id is the stable id of the run's slot that every
-- destination was given (see export::destination::fire_id).
CREATE TABLE run_deliveries (
    run_id      BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    destination TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('delivered', 'failed', 'skipped', 'retracted')),
    location    TEXT,
    error       TEXT,
    fire_id     TEXT    NOT NULL,
    attempt     BIGINT  NOT NULL,
    at          BIGINT  NOT NULL,
    PRIMARY KEY (run_id, destination)
);

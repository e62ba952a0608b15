-- cronport store, SQLite flavour: per-destination outcome of each run.
-- Keep this file in step with ../postgres/0002_deliveries.sql.

-- One row per run and destination, replaced by each attempt and by
-- `runs redeliver`. fire_id is the stable id of the run's slot that every
-- destination was given (see export::destination::fire_id).
CREATE TABLE run_deliveries (
    run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    destination TEXT    NOT NULL,
    status      TEXT    NOT NULL
                CHECK (status IN ('delivered', 'failed', 'skipped', 'retracted')),
    location    TEXT,
    error       TEXT,
    fire_id     TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (run_id, destination)
);

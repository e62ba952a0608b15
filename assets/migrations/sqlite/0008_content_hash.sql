-- cronport store, SQLite flavour: the content hash of each run's output.
-- Keep this file in step with ../postgres/0008_content_hash.sql.
--
-- A job with deliver = "on_change" hashes what it renders (SHA-256, hex).
-- A run whose hash equals that of the job's last delivered run succeeds
-- with unchanged = 1 and sends nothing; only succeeded runs with
-- unchanged = 0 count as delivered.
ALTER TABLE runs ADD COLUMN content_hash TEXT;
ALTER TABLE runs ADD COLUMN unchanged INTEGER NOT NULL DEFAULT 0 CHECK (unchanged IN (0, 1));
-- The last delivered run of a job, found without reading its history.
CREATE INDEX runs_job_delivered ON runs (job_id, finished_at)
    WHERE content_hash IS NOT NULL AND unchanged = 0 AND status = 'succeeded';

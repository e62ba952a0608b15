-- cronport store, SQLite flavour: when a run waiting between attempts
-- starts its next one. Keep this file in step with
-- ../postgres/0010_retry_at.sql.
--
-- A run between attempts is stored as running; without this, a console
-- attached to the store (its scheduler in another process) could not tell
-- it from a run that is working. Set when an attempt fails and a retry is
-- scheduled, cleared when the next attempt starts or the run ends. Unix ms.
ALTER TABLE runs ADD COLUMN retry_at INTEGER;

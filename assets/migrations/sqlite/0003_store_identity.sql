-- cronport store, SQLite flavour: the store's own identity.
-- Keep this file in step with ../postgres/0003_store_identity.sql.

-- A random id written once, when the store is created or upgraded to this
-- schema, and never changed. Files a store keeps on a host (the spool, the
-- outputs kept for `runs redeliver`) live under a folder named by it, so two
-- stores sharing a spool folder never see each other's files; it is not the
-- URL, which moves and differs between hosts for the same PostgreSQL store.
-- store_meta holds integers only, hence a table of its own; `one` limits it
-- to a single row.
CREATE TABLE store_identity (
    one        INTEGER PRIMARY KEY NOT NULL CHECK (one = 1),
    id         TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
-- 128 random bits as 32 lower-case hex digits. Generated here, inside the
-- migration's transaction, so two processes creating one store at once still
-- end up with one id.
INSERT INTO store_identity (one, id, created_at)
VALUES (1, lower(hex(randomblob(16))), CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));

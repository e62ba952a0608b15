-- cronport store, PostgreSQL flavour: the store's own identity.
-- Keep this file in step with ../sqlite/0003_store_identity.sql.

-- A random id written once, when the store is created or upgraded to this
-- schema, and never changed. Files a store keeps on a host (the spool, the
-- outputs kept for `runs redeliver`) live under a folder named by it, so two
-- stores sharing a spool folder never see each other's files; it is not the
-- URL, which moves and differs between hosts for the same PostgreSQL store.
-- store_meta holds integers only, hence a table of its own; `one` limits it
-- to a single row.
CREATE TABLE store_identity (
    one        BIGINT PRIMARY KEY CHECK (one = 1),
    id         TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
-- 128 random bits as 32 lower-case hex digits (gen_random_uuid is built in
-- from PostgreSQL 13; its 6 fixed version bits leave 122 random ones).
INSERT INTO store_identity (one, id, created_at)
VALUES (1, replace(gen_random_uuid()::text, '-', ''),
        (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT);

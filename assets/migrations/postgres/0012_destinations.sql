-- cronport store, PostgreSQL flavour: named destinations made in the console.
-- Keep this file in step with ../sqlite/0012_destinations.sql.
--
-- A destination is named once and reused by many jobs. The config's
-- [destinations] table names most of them; an operator can also make a new
-- one from the job form, which every instance sharing the store must see at
-- once, without a restart. Those live here. The definition is JSON of the
-- type the config's [destinations.NAME] is read into (so the same checks
-- and the same delivery code apply); kind is copied out of it for listings.
-- Rows are only ever added: a destination jobs may name is never edited
-- or removed from under them. A name the config also defines is the
-- config's (`cronport check` warns).
CREATE TABLE destinations (
    name       TEXT    PRIMARY KEY NOT NULL,
    kind       TEXT    NOT NULL,
    definition TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);

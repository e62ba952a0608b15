//! sql sources: the query runs for its first row (SQLite, PostgreSQL) or
//! is prepared (MariaDB), with the next slot's parameters bound.

use crate::common::process::{
    PgDatabase, Sandbox, block_on, config_header, sqlite_script, toml_str,
};
use crate::{WINDOWED, assert_fails, assert_ok, job, sql};

#[test]
fn sql_jobs_on_sqlite_run_their_query_and_a_missing_table_fails() {
    let sandbox = Sandbox::new();
    sqlite_script(
        &sandbox.path().join("data.db"),
        "create table t (id integer, name text); insert into t values (1, 'a'), (2, 'b');",
    );
    sandbox.write_config(&format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n{}{}{}",
        config_header(),
        job("windowed", &sql("db", WINDOWED)),
        job("missing-table", &sql("db", "select * from nope")),
        job("missing-column", &sql("db", "select id, price from t")),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a query on a missing table");
    let line = assert_ok(&out, "windowed");
    assert!(line.contains("2 column(s), a first row read"), "{line}");
    assert_fails(&out, "missing-table", "no such table: nope");
    assert_fails(&out, "missing-column", "no such column: price");
    assert!(out.stderr.contains("2 check(s) failed"), "{}", out.stderr);
    // The query ran in a read-only transaction: the file is unchanged and
    // has no journal left behind.
    assert!(!sandbox.path().join("data.db-journal").exists());
}

#[test]
fn sql_jobs_on_postgres_run_their_query_and_a_missing_table_fails() {
    let db = PgDatabase::create();
    block_on(async {
        use sqlx::{Connection as _, Executor as _};
        let mut conn = sqlx::PgConnection::connect(&db.url)
            .await
            .expect("connect to the test database");
        conn.execute(
            "create table t (id bigint, name text, at timestamptz); \
             insert into t select i, 'n' || i, now() from generate_series(1, 100000) i",
        )
        .await
        .expect("create table t");
        conn.close().await.expect("close");
    });
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[sources.pg]\nurl = {}\n\n{}{}{}",
        config_header(),
        toml_str(&db.url),
        job("windowed", &sql("pg", WINDOWED)),
        job(
            "missing-table",
            &sql("pg", "select * from nope where id = :run_id")
        ),
        job(
            "empty-window",
            &sql("pg", "select id from t where at >= :window_end;"),
        ),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a query on a missing table");
    let line = assert_ok(&out, "windowed");
    assert!(line.contains("2 column(s), a first row read"), "{line}");
    assert_fails(&out, "missing-table", "relation \"nope\" does not exist");
    let line = assert_ok(&out, "empty-window");
    assert!(line.contains("no rows for the slot"), "{line}");
    // Nothing was left open on the server: the probe's transaction ended.
    let open: i64 = block_on(async {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(&db.url).await.expect("connect");
        let open = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where datname = current_database() \
             and application_name = 'cronport' and state like 'idle in transaction%'",
        )
        .fetch_one(&mut conn)
        .await
        .expect("pg_stat_activity");
        conn.close().await.expect("close");
        open
    });
    assert_eq!(open, 0);
}

/// The MariaDB that `scripts/services.sh mariadb` starts.
const MARIADB: &str = "mysql://root@127.0.0.1:3306/test";

#[test]
fn sql_jobs_on_mariadb_are_prepared_and_a_missing_table_fails() {
    use sqlx::Connection as _;
    let table = format!("cronport_check_{}", crate::common::process::random_suffix());
    let run = |sql: String| {
        block_on(async {
            let mut conn = sqlx::MySqlConnection::connect(MARIADB)
                .await
                .expect("MariaDB on 127.0.0.1:3306 (scripts/services.sh mariadb)");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .expect("MariaDB statement");
            conn.close().await.expect("close");
        })
    };
    run(format!("create table {table} (id bigint, at datetime)"));
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}[sources.maria]\nurl = \"{MARIADB}\"\n\n{}{}",
        config_header(),
        job(
            "windowed",
            &sql(
                "maria",
                &format!(
                    "select id, at from {table} where at >= :window_start and at < :window_end"
                )
            ),
        ),
        job(
            "missing-table",
            &sql("maria", &format!("select * from {table}_nope"))
        ),
    ));
    let out = sandbox.run(&["check"]);
    run(format!("drop table {table}"));
    let out = out.expect_code(1, "check with a query on a missing table");
    let line = assert_ok(&out, "windowed");
    assert!(
        line.contains("query on maria prepared: 2 column(s)"),
        "{line}"
    );
    assert_fails(
        &out,
        "missing-table",
        &format!("{table}_nope' doesn't exist"),
    );
}

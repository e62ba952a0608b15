//! Every type, from SQLite, PostgreSQL and MariaDB, through every tabular
//! format, read back by an independent reader and compared cell by cell.

#[path = "support/formats.rs"]
mod formats;
#[path = "support/pipeline.rs"]
mod pipeline;
#[path = "support/readback.rs"]
mod readback;

use chrono::{DateTime, NaiveDate, NaiveTime};
use cronport::export::format::FormatSpec;
use cronport::export::source::SourceSpec;
use cronport::export::source::sql::SqlSpec;
use cronport::export::value::Value;
use formats::{TRICKY, ctx, spec};
use pipeline::Setup;
use sqlx::Connection as _;

fn date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()
}

fn time() -> NaiveTime {
    NaiveTime::from_hms_milli_opt(23, 59, 59, 250).unwrap()
}

/// Export `query` on `db` in every tabular format and check each file.
async fn check_every_format(s: &Setup, query: &str, names: &[&str], rows: &[Vec<Value>]) {
    let source = SourceSpec::Sql(SqlSpec {
        connection: "db".into(),
        query: query.into(),
    });
    for (i, kind) in readback::TABULAR.iter().enumerate() {
        let format: FormatSpec = spec(&format!("{{ kind = \"{kind}\" }}"));
        let out = s
            .pipeline
            .run(&source, &format, &["out".into()], &ctx(100 + i as i64))
            .await
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(out.rows, rows.len() as u64, "{kind}");
        readback::assert_holds(kind, std::path::Path::new(&out.outputs[0]), names, rows);
    }
}

#[tokio::test]
async fn sqlite_types_survive_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("types.db");
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    sqlx::query(
        "CREATE TABLE t (i INTEGER, f REAL, b BOOLEAN, s TEXT, x BLOB, day DATE, at DATETIME, ts TIMESTAMP, n TEXT)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query("INSERT INTO t VALUES (?, 0.1, 1, ?, x'00ff01', '2026-02-28', '2026-03-08 02:30:00', '2026-03-08T03:00:00-04:00', NULL)")
        .bind(i64::MIN)
        .bind(TRICKY)
        .execute(&mut conn)
        .await
        .unwrap();
    let s = Setup::new(&[("db", format!("sqlite://{}", path.display()))]);
    let names = ["i", "f", "b", "s", "x", "day", "at", "ts", "n"];
    let row = vec![
        Value::Int(i64::MIN),
        Value::Float(0.1),
        Value::Bool(true),
        Value::Text(TRICKY.into()),
        Value::Bytes(vec![0, 255, 1]),
        Value::Date(date()),
        Value::DateTime(
            NaiveDate::from_ymd_opt(2026, 3, 8)
                .unwrap()
                .and_hms_opt(2, 30, 0)
                .unwrap(),
        ),
        Value::Timestamp(DateTime::parse_from_rfc3339("2026-03-08T03:00:00-04:00").unwrap()),
        Value::Null,
    ];
    check_every_format(&s, "select * from t", &names, &[row]).await;
}

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[tokio::test]
async fn postgres_types_survive_every_format() {
    let name = format!("cronport_rt_{:016x}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(PG_ADMIN)
        .await
        .expect("PostgreSQL on 127.0.0.1:5432");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query(
        "CREATE TABLE t (i int8, f float8, d numeric(30,10), b bool, s text, x bytea, day date, tod time,
                         at timestamp, ts timestamptz, doc jsonb, n text)",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO t VALUES ($1, -2.5e300, 12345678901234567890.0000000001, false, $2, '\\x00ff01', '2026-02-28',
                               '23:59:59.25', '2026-03-08 02:30:00', '2026-03-08T03:00:00-04:00', '{\"a\": [1, 2.5, null]}', NULL)",
    )
    .bind(i64::MAX)
    .bind(TRICKY)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
    let s = Setup::new(&[("db", url)]);
    let names = [
        "i", "f", "d", "b", "s", "x", "day", "tod", "at", "ts", "doc", "n",
    ];
    let row = vec![
        Value::Int(i64::MAX),
        Value::Float(-2.5e300),
        Value::Decimal("12345678901234567890.0000000001".into()),
        Value::Bool(false),
        Value::Text(TRICKY.into()),
        Value::Bytes(vec![0, 255, 1]),
        Value::Date(date()),
        Value::Time(time()),
        Value::DateTime(
            NaiveDate::from_ymd_opt(2026, 3, 8)
                .unwrap()
                .and_hms_opt(2, 30, 0)
                .unwrap(),
        ),
        // PostgreSQL keeps the instant, in UTC.
        Value::Timestamp(DateTime::parse_from_rfc3339("2026-03-08T07:00:00+00:00").unwrap()),
        Value::Json(serde_json::json!({"a": [1, 2.5, null]})),
        Value::Null,
    ];
    check_every_format(&s, "select * from t", &names, &[row]).await;
    s.pipeline.connections().close().await;
    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await;
}

const MARIADB: &str = "mysql://root@127.0.0.1:3306/test";

#[tokio::test]
async fn mariadb_types_survive_every_format() {
    let table = format!("cronport_rt_{:016x}", rand::random::<u64>());
    let mut conn = sqlx::MySqlConnection::connect(MARIADB)
        .await
        .expect("MariaDB on 127.0.0.1:3306");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (i BIGINT, u BIGINT UNSIGNED, f DOUBLE, d DECIMAL(30,10), b BOOLEAN, s TEXT, x BLOB,
                               day DATE, tod TIME(3), at DATETIME(3), ts TIMESTAMP NULL, n VARCHAR(10))
         CHARACTER SET utf8mb4"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} VALUES (?, 18446744073709551615, 0.1, 12345678901234567890.0000000001, TRUE, ?, x'00ff01',
                                     '2026-02-28', '23:59:59.250', '2026-03-08 02:30:00', '2026-03-08 07:00:00', NULL)"
    )))
    .bind(i64::MIN)
    .bind(TRICKY)
    .execute(&mut conn)
    .await
    .unwrap();
    let s = Setup::new(&[("db", MARIADB.to_string())]);
    let names = [
        "i", "u", "f", "d", "b", "s", "x", "day", "tod", "at", "ts", "n",
    ];
    let row = vec![
        Value::Int(i64::MIN),
        // Beyond i64: exact, as a decimal.
        Value::Decimal("18446744073709551615".into()),
        Value::Float(0.1),
        Value::Decimal("12345678901234567890.0000000001".into()),
        Value::Bool(true),
        Value::Text(TRICKY.into()),
        Value::Bytes(vec![0, 255, 1]),
        Value::Date(date()),
        Value::Time(time()),
        Value::DateTime(
            NaiveDate::from_ymd_opt(2026, 3, 8)
                .unwrap()
                .and_hms_opt(2, 30, 0)
                .unwrap(),
        ),
        Value::Timestamp(DateTime::parse_from_rfc3339("2026-03-08T07:00:00+00:00").unwrap()),
        Value::Null,
    ];
    let query = format!("select * from {table}");
    check_every_format(&s, &query, &names, &[row]).await;

    // Bind parameters reach MariaDB, and the connection refuses writes.
    let source = SourceSpec::Sql(SqlSpec {
        connection: "db".into(),
        query: format!(
            "select count(*) as n, :run_id as run from {table} where at < :window_end and at >= :window_start"
        ),
    });
    let preview = s
        .pipeline
        .preview(&source, &spec(r#"{ kind = "csv" }"#), &ctx(9), 10)
        .await
        .unwrap();
    assert_eq!(
        preview.rows,
        vec![vec![Some("1".to_string()), Some("9".to_string())]]
    );
    let write = SourceSpec::Sql(SqlSpec {
        connection: "db".into(),
        query: format!("delete from {table}"),
    });
    let err = s
        .pipeline
        .run(
            &write,
            &spec(r#"{ kind = "csv" }"#),
            &["out".into()],
            &ctx(10),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("READ ONLY"), "{err}");
    s.pipeline.connections().close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}")))
        .execute(&mut conn)
        .await
        .unwrap();
}

//! The export pipeline against real sources: a SQLite file and the local
//! PostgreSQL server (a fresh database per test), real programs, a real
//! folder. Types, bind parameters, read-only connections, failures.

#[path = "support/formats.rs"]
mod formats;
#[path = "support/pipeline.rs"]
mod pipeline;

use std::collections::HashMap;
use std::sync::Arc;

use cronport::export::destination::DestinationConfig;
use cronport::export::destination::local::LocalConfig;
use cronport::export::format::FormatSpec;
use cronport::export::format::csv::CsvSpec;
use cronport::export::source::SourceSpec;
use cronport::export::source::command::CommandSpec;
use cronport::export::source::sql::SqlSpec;
use cronport::export::{ExportError, Pipeline};
use formats::ctx;
use sqlx::Connection as _;

const PG_ADMIN: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A scratch PostgreSQL database, dropped when the test ends.
struct PgDb {
    name: String,
    url: String,
}

impl PgDb {
    async fn create() -> PgDb {
        let name = format!("cronport_export_{:016x}", rand::random::<u64>());
        let mut admin = sqlx::PgConnection::connect(PG_ADMIN)
            .await
            .expect("PostgreSQL on 127.0.0.1:5432 (scripts/services.sh postgres starts it)");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
        PgDb { name, url }
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop from a fresh thread: the test's runtime may be gone.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut admin) = sqlx::PgConnection::connect(PG_ADMIN).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

struct Setup {
    dir: tempfile::TempDir,
    pipeline: Pipeline,
}

/// A pipeline with connections `db` and two destinations: `out` (a folder)
/// and `broken` (a root that is a file, so every delivery fails).
fn setup(connections: &[(&str, String)]) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("not-a-folder"), "x").unwrap();
    let connections = pipeline::connections_of(connections);
    let mut destinations: HashMap<String, Arc<dyn cronport::export::destination::Destination>> =
        HashMap::new();
    for (name, root) in [
        ("out", dir.path().join("out")),
        ("broken", dir.path().join("not-a-folder")),
    ] {
        let config = DestinationConfig::Local(LocalConfig {
            root,
            path: "{job}/{run_id}.{ext}".into(),
            keep_days: None,
            archive_days: None,
        });
        destinations.insert(name.into(), Arc::from(config.build()));
    }
    let pipeline = Pipeline::new(
        Arc::new(connections),
        destinations,
        dir.path().join("spool"),
    );
    Setup { dir, pipeline }
}

fn csv() -> FormatSpec {
    FormatSpec::Csv(CsvSpec::default())
}

fn sql(connection: &str, query: &str) -> SourceSpec {
    SourceSpec::Sql(SqlSpec {
        connection: connection.into(),
        query: query.into(),
    })
}

fn read_csv(path: &str) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap();
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn postgres_types_and_bind_parameters_reach_the_csv() {
    let db = PgDb::create().await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql(
        "CREATE TABLE t (id int8, small int2, name text, price numeric(30,10), ratio float8, ok bool,
                         at timestamptz, day date, blob bytea, doc jsonb, missing text);
         INSERT INTO t VALUES
           (1, 7, 'Zoë, \"quoted\"', 12345678901234567890.0000000001, 0.1, true,
            '2026-03-07 12:00:00+00', '2026-03-07', '\\x00ff01', '{\"a\": [1, 2]}', NULL),
           (2, -1, E'multi\\nline 東京 🚀 שלום', -0.5, 1e-7, false,
            '2026-03-08 06:59:59+00', '2026-03-08', '\\x', 'null', NULL),
           (3, 0, 'outside the window', 0, 0, false, '2026-03-08 07:00:00+00', '2026-03-08', NULL, NULL, NULL);",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let s = setup(&[("db", db.url.clone())]);
    let source = sql(
        "db",
        "select id, small, name, price, ratio, ok, at, day, blob, doc, missing, :run_id as run
         from t where at >= :window_start and at < :window_end order by id",
    );
    let out = s
        .pipeline
        .run(&source, &csv(), &["out".into()], &ctx(77))
        .await
        .unwrap();
    assert_eq!(out.rows, 2);
    assert_eq!(out.outputs.len(), 1);
    let rows = read_csv(&out.outputs[0]);
    assert_eq!(
        rows[0],
        [
            "id", "small", "name", "price", "ratio", "ok", "at", "day", "blob", "doc", "missing",
            "run"
        ]
    );
    assert_eq!(
        rows[1],
        [
            "1",
            "7",
            "Zoë, \"quoted\"",
            "12345678901234567890.0000000001",
            "0.1",
            "true",
            "2026-03-07T12:00:00+00:00",
            "2026-03-07",
            "AP8B",
            "{\"a\":[1,2]}",
            "",
            "77"
        ]
    );
    assert_eq!(rows[2][2], "multi\nline 東京 🚀 שלום");
    assert_eq!(rows[2][3], "-0.5");
    assert_eq!(rows[2][4], "1e-7");
    assert_eq!(rows[2][8], "");
    assert_eq!(out.bytes, std::fs::metadata(&out.outputs[0]).unwrap().len());
}

#[tokio::test]
async fn sql_connections_are_read_only() {
    let db = PgDb::create().await;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    sqlx::raw_sql("CREATE TABLE t (id int)")
        .execute(&mut conn)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = dir.path().join("data.db");
    let mut lite =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", sqlite.display()))
            .await
            .unwrap();
    sqlx::raw_sql("CREATE TABLE t (id int)")
        .execute(&mut lite)
        .await
        .unwrap();
    let s = setup(&[
        ("pg", db.url.clone()),
        ("lite", format!("sqlite://{}", sqlite.display())),
    ]);
    for name in ["pg", "lite"] {
        let err = s
            .pipeline
            .run(
                &sql(name, "insert into t values (1) returning id"),
                &csv(),
                &["out".into()],
                &ctx(1),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("read-only") || err.contains("readonly"),
            "{name}: {err}"
        );
    }
    let count: i64 = sqlx::query_scalar("select count(*) from t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn sqlite_source_keeps_types_and_binds_sqlite_time_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.db");
    let mut lite =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    sqlx::raw_sql(
        "CREATE TABLE orders (id INTEGER, created_at DATETIME, amount REAL, paid BOOLEAN, note TEXT, raw BLOB);
         INSERT INTO orders VALUES (1, '2026-03-07 08:00:00', 10.5, 1, 'a,b', x'0001'),
                                   (2, '2026-03-08 06:59:59', 3.0, 0, NULL, NULL),
                                   (3, '2026-03-08 07:00:00', 1.0, 1, 'later', NULL);",
    )
    .execute(&mut lite)
    .await
    .unwrap();
    let s = setup(&[("shop", format!("sqlite://{}", path.display()))]);
    let source = sql(
        "shop",
        "select * from orders where created_at >= :window_start and created_at < :window_end order by id",
    );
    let out = s
        .pipeline
        .run(&source, &csv(), &["out".into()], &ctx(5))
        .await
        .unwrap();
    let rows = read_csv(&out.outputs[0]);
    assert_eq!(
        rows,
        vec![
            vec!["id", "created_at", "amount", "paid", "note", "raw"],
            vec!["1", "2026-03-07T08:00:00", "10.5", "true", "a,b", "AAE="],
            vec!["2", "2026-03-08T06:59:59", "3.0", "false", "", ""],
        ]
    );
    // An empty result still has its header.
    let empty = s
        .pipeline
        .run(
            &sql("shop", "select id, note from orders where id > 100"),
            &csv(),
            &["out".into()],
            &ctx(6),
        )
        .await
        .unwrap();
    assert_eq!(empty.rows, 0);
    assert_eq!(
        std::fs::read_to_string(&empty.outputs[0]).unwrap(),
        "id,note\r\n"
    );
}

#[tokio::test]
async fn failures_name_their_stage_and_leave_nothing_behind() {
    let s = setup(&[("missing", "sqlite:///nonexistent/dir/x.db".into())]);
    let command = |argv: &[&str]| {
        SourceSpec::Command(CommandSpec {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            env: Default::default(),
            output: None,
        })
    };
    // A program that fails: its exit status and stderr are in the error.
    let err = s
        .pipeline
        .run(
            &command(&[
                "sh",
                "-c",
                "echo a,b; echo 1,2; echo 'no such table' >&2; exit 4",
            ]),
            &csv(),
            &["out".into()],
            &ctx(1),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exit status: 4") && err.contains("no such table"),
        "{err}"
    );
    // Unreadable output from a failing program is explained by the failure.
    let err = s
        .pipeline
        .run(
            &command(&["sh", "-c", "printf 'a,b\\n1,2,3\\n'; exit 9"]),
            &csv(),
            &["out".into()],
            &ctx(2),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("exit status: 9"), "{err}");
    // A program that doesn't exist.
    let err = s
        .pipeline
        .run(
            &command(&["/no/such/program"]),
            &csv(),
            &["out".into()],
            &ctx(3),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot start \"/no/such/program\""), "{err}");
    // A database that can't be opened.
    let err = s
        .pipeline
        .run(
            &sql("missing", "select 1"),
            &csv(),
            &["out".into()],
            &ctx(4),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ExportError::Source(_)), "{err}");
    assert!(
        err.to_string()
            .contains("cannot connect to source \"missing\""),
        "{err}"
    );
    // A second destination failing takes back what the first delivered.
    let ok = command(&["printf", "a\\n1\\n"]);
    let err = s
        .pipeline
        .run(&ok, &csv(), &["out".into(), "broken".into()], &ctx(5))
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with("destination \"broken\""),
        "{err}"
    );
    let leftovers: Vec<_> = walk(s.dir.path().join("out"));
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(walk(s.dir.path().join("spool")).is_empty());
    // And an unknown destination is refused before anything runs.
    let err = s
        .pipeline
        .run(&ok, &csv(), &["nowhere".into()], &ctx(6))
        .await
        .unwrap_err();
    assert!(matches!(err, ExportError::UnknownDestination(_)));
}

fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                out.push(entry.path());
            }
        }
    }
    out
}

/// Readers and encoders wait on each other, so they must not share a capped
/// blocking pool: with one pool thread, a reader and its encoder both on it
/// would leave the reader (or the encoder) queued forever once the other
/// blocks on their channel. `main` caps the pool; here it is capped to one
/// thread, and eight multi-batch exports at once must all finish.
#[test]
fn exports_finish_with_a_blocking_pool_of_one_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.db");
        let mut lite =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
                .await
                .unwrap();
        sqlx::raw_sql(
            "CREATE TABLE n (i INTEGER, t TEXT);
             WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 50000)
             INSERT INTO n SELECT i, 'row ' || i FROM c;",
        )
        .execute(&mut lite)
        .await
        .unwrap();
        let s = setup(&[("big", format!("sqlite://{}", path.display()))]);
        let program = SourceSpec::Command(CommandSpec {
            argv: ["sh", "-c", "echo i,t; seq 1 50000 | sed 's/$/,x/'"]
                .map(String::from)
                .to_vec(),
            cwd: None,
            env: Default::default(),
            output: None,
        });
        let exports = (0..8).map(|i| {
            let source = if i % 2 == 0 {
                sql("big", "select i, t from n order by i")
            } else {
                program.clone()
            };
            let pipeline = &s.pipeline;
            async move {
                pipeline
                    .run(&source, &csv(), &["out".into()], &ctx(100 + i))
                    .await
            }
        });
        let all = futures::future::join_all(exports);
        let outputs = tokio::time::timeout(std::time::Duration::from_secs(120), all)
            .await
            .expect("the exports stalled on the capped pool");
        for output in outputs {
            assert_eq!(output.unwrap().rows, 50_000);
        }
    });
}

//! Opening stores: URLs, file mode, WAL, migrations, errors.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use sqlx::Row;

use super::{TestDb, job_def, store_test};
use crate::store::connect::{Location, migrator, redact};
use crate::store::{Backend, Store, StoreError};

store_test!(migrations_are_idempotent, a_newer_schema_is_refused);

async fn migrations_are_idempotent(db: TestDb) {
    let first = db.open().await;
    first.create_job(&job_def("kept", 1)).await.expect("create");
    first.close().await;
    // Reopening runs the migrator again: nothing to apply, nothing lost.
    let second = db.open().await;
    let third = db.open().await;
    assert_eq!(second.list_jobs().await.expect("list").len(), 1);
    assert_eq!(third.jobs_version().await.expect("version"), 1);
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&second.pool)
        .await
        .expect("count migrations");
    let embedded = migrator(db.backend).iter().count();
    assert_eq!(applied, i64::try_from(embedded).expect("count"));
    assert_eq!(second.backend(), db.backend);
}

async fn a_newer_schema_is_refused(db: TestDb) {
    let store = db.open().await;
    let checksum = match db.backend {
        Backend::Sqlite => "X'00'",
        Backend::Postgres => "'\\x00'::bytea",
    };
    let sql = format!(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99, 'from the future', TRUE, {checksum}, 0)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .execute(&store.pool)
        .await
        .expect("fake a newer migration");
    store.close().await;
    let err = Store::open(&db.url).await.expect_err("newer schema");
    assert!(matches!(err, StoreError::Migrate { .. }), "{err}");
    assert!(err.to_string().contains("newer cronport"), "{err}");
}

/// A headless instance starting while `cronport status` polls the same
/// fresh file: every opener gets a migrated store, none fails on a
/// migration the other applied first ("duplicate column name").
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn processes_opening_a_fresh_sqlite_file_at_once_all_get_it_migrated() {
    for round in 0..5 {
        let dir = tempfile::TempDir::new().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move { Store::open(&url).await })
            })
            .collect();
        for opener in openers {
            let store = opener
                .await
                .expect("opener task")
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
            assert!(store.schema_state().await.expect("schema").current());
            store.close().await;
        }
    }
}

#[tokio::test]
async fn new_sqlite_file_is_private_and_in_wal_mode() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("nested").join("deeper").join("store.db");
    let store = Store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let mode = |p: &PathBuf| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .expect("metadata")
    };
    assert_eq!(mode(&path), 0o600, "database file");
    let folder = path.parent().map(PathBuf::from).expect("parent");
    assert_eq!(mode(&folder), 0o700, "created folder");

    // Write something so the WAL file exists; SQLite gives it the database
    // file's mode.
    store.create_job(&job_def("a", 0)).await.expect("create");
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    assert_eq!(mode(&wal), 0o600, "WAL file");

    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    let journal: String = row.try_get(0).expect("journal mode");
    assert_eq!(journal, "wal");
    let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(sync, 1, "synchronous=NORMAL");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(fk, 1);
    let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
        .fetch_one(&store.pool)
        .await
        .expect("pragma");
    assert_eq!(busy, 5000);
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.display_url(), format!("sqlite://{}", path.display()));
}

#[tokio::test]
async fn existing_file_keeps_its_mode() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let path = dir.path().join("store.db");
    std::fs::write(&path, b"").expect("create");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let store = Store::open(path.to_str().expect("utf-8 path"))
        .await
        .expect("open plain path");
    store.jobs_version().await.expect("usable");
    let mode = std::fs::metadata(&path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o640);
}

#[tokio::test]
async fn memory_store_works() {
    let store = Store::open("sqlite::memory:").await.expect("open");
    store.create_job(&job_def("m", 0)).await.expect("create");
    assert_eq!(store.list_jobs().await.expect("list").len(), 1);
    store.close().await;
}

#[tokio::test]
async fn unreachable_postgres_is_an_open_error_without_the_password() {
    // Port 1 on loopback refuses at once.
    let err = Store::open("postgres://admin:hunter2@127.0.0.1:1/cronport")
        .await
        .expect_err("nothing listens on port 1");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Open { .. }), "{msg}");
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(
        msg.contains("postgres://admin:***@127.0.0.1:1/cronport"),
        "{msg}"
    );
    assert!(msg.to_lowercase().contains("refused"), "{msg}");
}

#[tokio::test]
async fn unusable_sqlite_path_is_an_open_error() {
    let dir = tempfile::TempDir::new().expect("temp dir");
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, b"x").expect("create");
    let url = format!("sqlite://{}/store.db", blocker.display());
    let err = Store::open(&url).await.expect_err("parent is a file");
    assert!(matches!(err, StoreError::Open { .. }), "{err}");
    assert!(
        err.to_string().contains(&blocker.display().to_string()),
        "{err}"
    );
}

#[test]
fn urls_are_parsed() {
    let cwd = std::env::current_dir().expect("cwd");
    let file = |p: &str| Location::SqliteFile {
        path: PathBuf::from(p),
        params: None,
    };
    assert_eq!(
        Location::parse("sqlite:///var/lib/c.db"),
        Ok(file("/var/lib/c.db"))
    );
    assert_eq!(
        Location::parse("sqlite:/var/lib/c.db"),
        Ok(file("/var/lib/c.db"))
    );
    assert_eq!(Location::parse("/var/lib/c.db"), Ok(file("/var/lib/c.db")));
    assert_eq!(
        Location::parse("sqlite://rel/c.db"),
        Ok(Location::SqliteFile {
            path: cwd.join("rel/c.db"),
            params: None
        })
    );
    assert_eq!(Location::parse("sqlite:///a%20b.db"), Ok(file("/a b.db")));
    assert_eq!(
        Location::parse("sqlite::memory:"),
        Ok(Location::SqliteMemory)
    );
    assert!(matches!(
        Location::parse("postgresql://u@h/db"),
        Ok(Location::Postgres(_))
    ));
    let err = Location::parse("mysql://u@h/db").expect_err("unsupported");
    assert!(err.contains("mysql"), "{err}");
    assert!(Location::parse("sqlite://").is_err());
}

#[test]
fn passwords_are_redacted() {
    assert_eq!(
        redact("postgres://u:secret@h:5432/db"),
        "postgres://u:***@h:5432/db"
    );
    assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    let q = redact("postgres://u@h/db?sslmode=require&password=secret");
    assert!(
        !q.contains("secret") && q.contains("sslmode=require"),
        "{q}"
    );
    assert!(!redact("postgres://u:secret@[bad").contains("secret"));
}

#[test]
fn every_migration_file_is_embedded() {
    for (backend, folder) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("assets/migrations")
            .join(folder);
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations folder")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".sql"))
            .collect();
        files.sort();
        let embedded: Vec<String> = migrator(backend)
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_")))
            .collect();
        assert_eq!(
            files, embedded,
            "{folder}: list new migrations in connect::migrator"
        );
    }
}

//! The store's test suite, written once and run against both backends.
//!
//! `store_test!(name)` turns `async fn name(db: TestDb)` into two tests,
//! `name::sqlite` (a temp file) and `name::postgres` (a fresh database on the
//! local server, dropped afterwards, also when the test fails). PostgreSQL
//! defaults to `postgres://postgres@127.0.0.1:5432/postgres`
//! (`CRONPORT_TEST_PG_URL` overrides); if it is unreachable the postgres
//! tests fail, unless `CRONPORT_TEST_SKIP_PG=1`.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use tempfile::TempDir;

use super::{Backend, JobDefinition, JobRecord, NewRun, RunStatus, Store, Trigger};

mod audit;
mod catchup;
mod commands;
mod content;
mod deliveries;
mod destinations;
mod held;
mod identity;
mod instances;
mod jobs;
mod open;
mod performance;
mod queue;
mod runs;
mod takeover;
mod throughput;
mod writes;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// One test's database: a SQLite file in a temp folder or a PostgreSQL
/// database of its own. Cloning shares it.
#[derive(Clone)]
pub(crate) struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<Arc<TempDir>>,
}

impl TestDb {
    /// Opens a new handle (its own pool) on the test database.
    pub async fn open(&self) -> Store {
        match Store::open(&self.url).await {
            Ok(store) => store,
            Err(e) => panic!("opening the test store failed: {e}"),
        }
    }
}

impl TestDb {
    /// A pool on the test database with only the migrations before
    /// `version` applied: the store as an older build left it, for the
    /// upgrade tests to fill and then open.
    pub async fn migrated_before(&self, version: i64) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = match self.backend {
            Backend::Sqlite => {
                let path = self.url.trim_start_matches("sqlite://");
                let parent = std::path::Path::new(path).parent().expect("folder");
                std::fs::create_dir_all(parent).expect("create folder");
                format!("{}?mode=rwc", self.url)
            }
            Backend::Postgres => self.url.clone(),
        };
        let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
        let old = sqlx::migrate::Migrator::with_migrations(
            super::connect::migrator(self.backend)
                .iter()
                .filter(|m| m.version < version)
                .cloned()
                .collect(),
        );
        old.run(&pool).await.expect("the older schema");
        pool
    }
}

/// The admin URL and the URL of database `name` on the same server.
fn pg_urls(name: &str) -> (String, String) {
    let admin = std::env::var("CRONPORT_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let (base, query) = match admin.split_once('?') {
        Some((base, query)) => (base.to_owned(), format!("?{query}")),
        None => (admin.clone(), String::new()),
    };
    let server = base
        .rsplit_once('/')
        .map_or(base.as_str(), |(server, _)| server);
    let db = format!("{server}/{name}{query}");
    (admin, db)
}

/// Runs `test` on a fresh database of `backend`, then removes the database,
/// then passes on the test's panic if it had one.
pub(crate) async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    match backend {
        Backend::Sqlite => {
            let dir = TempDir::new().expect("temp dir");
            let path = dir.path().join("data").join("cronport.db");
            let db = TestDb {
                backend,
                url: format!("sqlite://{}", path.display()),
                _dir: Some(Arc::new(dir)),
            };
            let outcome = tokio::spawn(test(db)).await;
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
        }
        Backend::Postgres => {
            let name = format!("cronport_t_{:016x}", rand::random::<u64>());
            let (admin_url, url) = pg_urls(&name);
            let mut admin = match PgConnection::connect(&admin_url).await {
                Ok(conn) => conn,
                Err(_) if std::env::var("CRONPORT_TEST_SKIP_PG").as_deref() == Ok("1") => {
                    eprintln!("PostgreSQL unreachable and CRONPORT_TEST_SKIP_PG=1: skipped");
                    return;
                }
                Err(e) => panic!(
                    "PostgreSQL at {admin_url} is unreachable ({e}). The store tests need it: \
                     start it, point CRONPORT_TEST_PG_URL at one, or set CRONPORT_TEST_SKIP_PG=1 \
                     to skip the PostgreSQL half."
                ),
            };
            admin
                .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create test database");
            let db = TestDb {
                backend,
                url,
                _dir: None,
            };
            let outcome = tokio::spawn(test(db)).await;
            // FORCE ends connections the test left open (pools of stores).
            let dropped = admin
                .execute(AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)")))
                .await;
            if let Err(e) = outcome {
                std::panic::resume_unwind(e.into_panic());
            }
            dropped.expect("drop test database");
        }
    }
}

/// Declares `name::sqlite` and `name::postgres` running `async fn name(TestDb)`.
macro_rules! store_test {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::store::tests::run($crate::store::Backend::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::store::tests::run($crate::store::Backend::Postgres, super::$name).await;
            }
        }
    )+};
}
pub(crate) use store_test;

/// A fixed instant: 2025-03-01 00:00:00 UTC plus `secs`.
pub(super) fn at(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0)
        .single()
        .expect("valid date")
        + Duration::seconds(secs)
}

/// A job definition whose content depends on `variant`.
pub(super) fn job_def(name: &str, variant: u32) -> JobDefinition {
    JobDefinition {
        name: name.to_owned(),
        schedule: "every 5m".to_owned(),
        cron: "*/5 * * * *".to_owned(),
        timezone: "Europe/Berlin".to_owned(),
        definition: format!(r#"{{"source":{{"kind":"file"}},"variant":{variant}}}"#),
    }
}

/// Creates a job and returns it.
pub(super) async fn seed_job(store: &Store, name: &str) -> JobRecord {
    store
        .create_job(&job_def(name, 0))
        .await
        .expect("create job")
}

/// A queued schedule run of `job_id` for the slot at `at(slot_secs)`.
pub(super) fn slot_run(job_id: i64, slot_secs: i64) -> NewRun {
    NewRun {
        job_id,
        trigger: Trigger::Schedule,
        status: RunStatus::Queued,
        slot: Some(at(slot_secs)),
        scheduled_for: at(slot_secs),
        queued_at: at(slot_secs),
        attempt: 0,
        instance_id: Some("inst-a".to_owned()),
        retry_of: None,
        error: None,
    }
}

/// A manual run (no slot) of `job_id` queued at `at(secs)`.
pub(super) fn manual_run(job_id: i64, secs: i64) -> NewRun {
    NewRun {
        trigger: Trigger::Manual,
        slot: None,
        ..slot_run(job_id, secs)
    }
}

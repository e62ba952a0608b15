//! Turning a store URL into a migrated connection pool.
//!
//! Accepted: `sqlite://PATH`, `sqlite:PATH`, a plain file path, `sqlite::memory:`
//! (tests and demos), `postgres://...` and `postgresql://...`.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{MigrateError, Migration, MigrationType, Migrator};
use sqlx::{AnyConnection, AnyPool, Connection, Executor, SqlSafeStr};

use super::Backend;
use super::error::StoreError;

/// Where the store lives, parsed from the URL the operator gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A SQLite database file, its path made absolute.
    SqliteFile {
        /// Absolute path of the database file.
        path: PathBuf,
        /// Query parameters passed on to sqlx, if any.
        params: Option<String>,
    },
    /// A private in-memory SQLite database (one connection).
    SqliteMemory,
    /// A PostgreSQL server; the URL as given.
    Postgres(String),
}

impl Location {
    /// Parses `url`; the error is a sentence for the operator.
    pub(crate) fn parse(url: &str) -> Result<Location, String> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        let rest = if let Some(rest) = url.strip_prefix("sqlite://") {
            rest
        } else if let Some(rest) = url.strip_prefix("sqlite:") {
            rest
        } else if let Some((scheme, _)) = url.split_once("://") {
            return Err(format!(
                "unsupported store scheme '{scheme}': use sqlite://PATH, a file path, or postgres://..."
            ));
        } else {
            url
        };
        let (raw_path, params) = match rest.split_once('?') {
            Some((path, params)) => (path, Some(params.to_owned())),
            None => (rest, None),
        };
        if raw_path == ":memory:" {
            return Ok(Location::SqliteMemory);
        }
        if raw_path.is_empty() {
            return Err("the store URL names no database file".to_owned());
        }
        let decoded = percent_decode(raw_path)?;
        let expanded = match decoded.strip_prefix("~/") {
            Some(tail) => match std::env::var_os("HOME") {
                Some(home) => PathBuf::from(home).join(tail),
                None => PathBuf::from(&decoded),
            },
            None => PathBuf::from(&decoded),
        };
        let path = std::path::absolute(&expanded)
            .map_err(|e| format!("cannot resolve {}: {e}", expanded.display()))?;
        Ok(Location::SqliteFile { path, params })
    }

    /// Which database this is.
    pub(crate) fn backend(&self) -> Backend {
        match self {
            Location::SqliteFile { .. } | Location::SqliteMemory => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    /// The URL for people: absolute path for SQLite, password hidden for
    /// PostgreSQL.
    pub(crate) fn display(&self) -> String {
        match self {
            Location::SqliteFile { path, .. } => format!("sqlite://{}", path.display()),
            Location::SqliteMemory => "sqlite::memory:".to_owned(),
            Location::Postgres(url) => redact(url),
        }
    }

    /// The URL handed to sqlx.
    fn driver_url(&self) -> String {
        match self {
            Location::SqliteFile { path, params } => {
                let mut url = format!("sqlite://{}", percent_encode(&path.to_string_lossy()));
                if let Some(params) = params {
                    url.push('?');
                    url.push_str(params);
                }
                url
            }
            Location::SqliteMemory => "sqlite::memory:".to_owned(),
            Location::Postgres(url) => url.clone(),
        }
    }
}

/// Hides the password of a PostgreSQL URL, in the user-info part and in a
/// `password=` query parameter.
pub(crate) fn redact(url: &str) -> String {
    match AnyConnectOptions::from_str(url) {
        Ok(opts) => {
            let mut parsed = opts.database_url;
            if parsed.password().is_some() {
                // Only fails for URLs that cannot have a password at all.
                let _ = parsed.set_password(Some("***"));
            }
            if parsed.query_pairs().any(|(k, _)| k == "password") {
                let pairs: Vec<(String, String)> = parsed
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" { "***".into() } else { v };
                        (k.into_owned(), v.into_owned())
                    })
                    .collect();
                parsed.query_pairs_mut().clear().extend_pairs(pairs);
            }
            parsed.to_string()
        }
        // Unparseable: show only the scheme rather than risk leaking a secret.
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://***"),
            None => "***".to_owned(),
        },
    }
}

/// Opens the pool for `location` and brings its schema up to date.
pub(crate) async fn connect(location: &Location) -> Result<AnyPool, StoreError> {
    // Idempotent (a `Once` inside), so every open may call it.
    sqlx::any::install_default_drivers();
    let url = location.display();
    let open_err = |cause: String| StoreError::Open {
        url: url.clone(),
        cause,
    };
    let options = match location {
        Location::SqliteFile { path, .. } => {
            create_private_file(path).map_err(|e| open_err(format!("{}: {e}", path.display())))?;
            // Readers run beside the single writer in WAL mode; more
            // connections than this only queue on SQLite's write lock.
            AnyPoolOptions::new()
                .max_connections(4)
                .after_connect(|conn, _| {
                    Box::pin(async move {
                        conn.execute(SQLITE_FILE_PRAGMAS).await?;
                        Ok(())
                    })
                })
        }
        // Every connection to `:memory:` is a new, empty database, so the
        // pool keeps exactly one and never recycles it.
        Location::SqliteMemory => AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(SQLITE_MEMORY_PRAGMAS).await?;
                    Ok(())
                })
            }),
        Location::Postgres(_) => AnyPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(Duration::from_secs(10)),
    };
    let driver_url = location.driver_url();
    // Opening a SQLite file (switching a fresh one to WAL, migrating it)
    // is done by one process at a time: SQLite answers "database is locked"
    // at once where waiting could deadlock (the WAL switch, a migration's
    // BEGIN IMMEDIATE), so two processes opening one fresh file at the same
    // moment (an instance starting while `cronport status` polls it) failed.
    let _opening = match location {
        Location::SqliteFile { path, .. } => Some(OpenLock::take(path).await),
        _ => None,
    };
    probe(location, &driver_url).await.map_err(open_err)?;
    let pool = options
        .connect(&driver_url)
        .await
        .map_err(|e| open_err(e.to_string()))?;
    if let Err(e) = migrate(location.backend(), &pool).await {
        pool.close().await;
        return Err(StoreError::Migrate {
            url,
            cause: migrate_cause(&e),
        });
    }
    Ok(pool)
}

/// How long a process that lost a race to migrate a fresh SQLite file
/// keeps looking again.
const MIGRATION_RACE: Duration = Duration::from_secs(10);

/// Apply the migrations this build embeds. Two processes opening the same
/// fresh SQLite file at once (a headless instance starting while `cronport
/// status` polls it) race migration by migration, as SQLite has no
/// migration lock: the loser's statement fails ("duplicate column name")
/// and its transaction rolls back. It looks again until the winner is done;
/// one look was not enough when the race was lost at a later migration.
/// PostgreSQL takes sqlx's advisory lock, so its errors are real.
async fn migrate(backend: Backend, pool: &AnyPool) -> Result<(), MigrateError> {
    let began = std::time::Instant::now();
    let mut pause = Duration::from_millis(20);
    loop {
        match migrator(backend).run(pool).await {
            Ok(()) => return Ok(()),
            Err(e @ (MigrateError::Execute(_) | MigrateError::ExecuteMigration(..)))
                if backend == Backend::Sqlite && began.elapsed() < MIGRATION_RACE =>
            {
                tracing::debug!("migrating the store raced another process, looking again: {e}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Explains the migration failures an operator can act on.
fn migrate_cause(e: &MigrateError) -> String {
    match e {
        MigrateError::VersionMissing(v) => format!(
            "the store has schema version {v}, which this cronport does not know: \
             it was upgraded by a newer cronport; run that version or a newer one"
        ),
        MigrateError::VersionMismatch(v) => format!(
            "schema version {v} in the store differs from the one built into this cronport; \
             the store was migrated by a different build"
        ),
        other => other.to_string(),
    }
}

/// Connects once outside the pool to report why a store cannot be opened.
/// The pool retries refused connections and failing setup until its timeout
/// and then reports only "timed out", which tells the operator nothing.
async fn probe(location: &Location, driver_url: &str) -> Result<(), String> {
    let pragmas = match location {
        // A probe would open its own, unrelated in-memory database.
        Location::SqliteMemory => return Ok(()),
        Location::SqliteFile { .. } => Some(SQLITE_FILE_PRAGMAS),
        Location::Postgres(_) => None,
    };
    let connecting = AnyConnection::connect(driver_url);
    let mut conn = match tokio::time::timeout(PROBE_TIMEOUT, connecting).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => {
            return Err(format!(
                "no answer within {} seconds",
                PROBE_TIMEOUT.as_secs()
            ));
        }
    };
    if let Some(pragmas) = pragmas {
        conn.execute(pragmas).await.map_err(|e| e.to_string())?;
    }
    conn.close().await.map_err(|e| e.to_string())
}

/// How long the first connection may take before the store counts as
/// unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection settings for a SQLite file. WAL lets readers (console,
/// CLI) work while the scheduler writes; NORMAL sync is safe with WAL (a power
/// cut may lose the last commits, never corrupt); the busy timeout makes a
/// second process wait for the write lock instead of failing. Temp files in
/// memory keep the statement journals of the multi-row batch statements off
/// the disk (they were a tenth of the recording time). The busy timeout
/// comes first: switching a fresh file to WAL takes an exclusive lock, and
/// set after it, a process opening the file while another migrates it got
/// "database is locked" at once instead of waiting.
///
/// The automatic checkpoint waits for a 40 MB log instead of SQLite's 4 MB:
/// it runs inside whichever commit crosses the limit, fsync included, and a
/// running scheduler checkpoints every second off its firing path instead
/// (see [`Store::checkpoint`](super::Store::checkpoint)). Processes that do
/// not (the command line) still checkpoint at the limit and when they close.
const SQLITE_FILE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = NORMAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA temp_store = MEMORY; \
     PRAGMA wal_autocheckpoint = 10000;";

/// As above, minus WAL, which an in-memory database cannot use.
const SQLITE_MEMORY_PRAGMAS: &str = "PRAGMA foreign_keys = ON;";

/// The schema migrations for `backend`, embedded in the binary.
///
/// Built with `Migrator::with_migrations` and `include_str!` rather than
/// `sqlx::migrate!`, which would need sqlx's `macros` feature and a rebuild of
/// sqlx with proc macros; the checksums are the same. A unit test checks that
/// every file in the folders is listed here.
pub(crate) fn migrator(backend: Backend) -> Migrator {
    let files: &[(i64, &str, &'static str)] = match backend {
        Backend::Sqlite => &[
            (
                1,
                "initial",
                include_str!("../../assets/migrations/sqlite/0001_initial.sql"),
            ),
            (
                2,
                "deliveries",
                include_str!("../../assets/migrations/sqlite/0002_deliveries.sql"),
            ),
            (
                3,
                "store identity",
                include_str!("../../assets/migrations/sqlite/0003_store_identity.sql"),
            ),
            (
                4,
                "run_queue",
                include_str!("../../assets/migrations/sqlite/0004_run_queue.sql"),
            ),
            (
                5,
                "backfill",
                include_str!("../../assets/migrations/sqlite/0005_backfill.sql"),
            ),
            (
                6,
                "catchup_plans",
                include_str!("../../assets/migrations/sqlite/0006_catchup_plans.sql"),
            ),
            (
                7,
                "audit",
                include_str!("../../assets/migrations/sqlite/0007_audit.sql"),
            ),
            (
                8,
                "content_hash",
                include_str!("../../assets/migrations/sqlite/0008_content_hash.sql"),
            ),
            (
                10,
                "retry_at",
                include_str!("../../assets/migrations/sqlite/0010_retry_at.sql"),
            ),
            (
                11,
                "checks",
                include_str!("../../assets/migrations/sqlite/0011_checks.sql"),
            ),
            (
                12,
                "destinations",
                include_str!("../../assets/migrations/sqlite/0012_destinations.sql"),
            ),
        ],
        Backend::Postgres => &[
            (
                1,
                "initial",
                include_str!("../../assets/migrations/postgres/0001_initial.sql"),
            ),
            (
                2,
                "deliveries",
                include_str!("../../assets/migrations/postgres/0002_deliveries.sql"),
            ),
            (
                3,
                "store identity",
                include_str!("../../assets/migrations/postgres/0003_store_identity.sql"),
            ),
            (
                4,
                "run_queue",
                include_str!("../../assets/migrations/postgres/0004_run_queue.sql"),
            ),
            (
                5,
                "backfill",
                include_str!("../../assets/migrations/postgres/0005_backfill.sql"),
            ),
            (
                6,
                "catchup_plans",
                include_str!("../../assets/migrations/postgres/0006_catchup_plans.sql"),
            ),
            (
                7,
                "audit",
                include_str!("../../assets/migrations/postgres/0007_audit.sql"),
            ),
            (
                8,
                "content_hash",
                include_str!("../../assets/migrations/postgres/0008_content_hash.sql"),
            ),
            (
                10,
                "retry_at",
                include_str!("../../assets/migrations/postgres/0010_retry_at.sql"),
            ),
            (
                11,
                "checks",
                include_str!("../../assets/migrations/postgres/0011_checks.sql"),
            ),
            (
                12,
                "destinations",
                include_str!("../../assets/migrations/postgres/0012_destinations.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                // sqlx's own marker: a migration that manages its own
                // transaction (SQLite's table rebuild turns foreign keys off
                // first, which a transaction would not allow).
                let no_tx = sql.starts_with("-- no-transaction");
                Migration::new(
                    version,
                    description.into(),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    no_tx,
                )
            })
            .collect(),
    )
}

/// Creates the database file (and its folders) readable by the owner only,
/// before SQLite would create it with the default umask. An existing file is
/// left as it is.
fn create_private_file(path: &Path) -> io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        // The umask may have taken bits away; set the mode exactly.
        Ok(file) => file.set_permissions(Permissions::from_mode(0o600)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// An exclusive `flock` on `<store>.open-lock`, held while a process opens
/// and migrates a SQLite store; released when dropped. It is a file of its
/// own: SQLite's POSIX locks on the store itself would be dropped by
/// closing any other descriptor of it in the process.
struct OpenLock {
    _held: Option<std::fs::File>,
}

impl OpenLock {
    /// Wait for the lock. Without one (a read-only folder) the open goes
    /// on unlocked, as before the lock existed, rather than failing.
    async fn take(store: &Path) -> OpenLock {
        let path = PathBuf::from(format!("{}.open-lock", store.display()));
        let taken = tokio::task::spawn_blocking(move || -> io::Result<std::fs::File> {
            let file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&path)?;
            // SAFETY: flock on a descriptor this function owns.
            if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(file)
        })
        .await;
        let held = taken
            .map_err(|e| e.to_string())
            .and_then(|file| file.map_err(|e| e.to_string()))
            .inspect_err(|e| tracing::debug!("opening the store without its open lock: {e}"))
            .ok();
        OpenLock { _held: held }
    }
}

/// Percent-encodes what would otherwise end or confuse the path part of a
/// sqlite URL (`?`, `#`, `%`, spaces, control and non-ASCII bytes).
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~+,=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` sequences of a URL path.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent escape in store path '{s}'"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("store path '{s}' is not UTF-8"))
}

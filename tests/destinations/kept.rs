//! Kept outputs belong to their store (issue 12): two configs on one host,
//! each with its own store and the default spool folder, each runs its job
//! once (both runs are run 1). A redelivery sends the store's own file, and
//! refuses another store's file, an expired or missing one, without
//! touching a destination. The daily prune and the sweep of dead processes'
//! spool files, through the real binary.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::process::{Output, PgDatabase, Sandbox, block_on, run_command};

/// One of the two stores sharing the sandbox (and so its default spool).
struct Side {
    name: &'static str,
    config: PathBuf,
    store: String,
}

impl Side {
    /// A config whose job writes `team-{name}-data` to `exports-{name}`.
    fn new(sandbox: &Sandbox, name: &'static str, store: String) -> Side {
        let config = sandbox.write(
            &format!("{name}.toml"),
            &format!(
                "[destinations.out]\nkind = \"local\"\nroot = \"exports-{name}\"\npath = \"{{job}}/{{run_id}}.{{ext}}\"\n\n\
                 [[jobs]]\nname = \"export\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
                 source = {{ kind = \"command\", argv = [\"printf\", \"who\\\\nteam-{name}-data\\\\n\"] }}\n\
                 format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n"
            ),
        );
        let side = Side {
            name,
            config,
            store,
        };
        side.run(sandbox, &["apply", side.config.to_str().unwrap()])
            .ok("apply");
        side
    }

    fn run(&self, sandbox: &Sandbox, args: &[&str]) -> Output {
        let mut cmd = sandbox.bare_command();
        cmd.arg("--config")
            .arg(&self.config)
            .arg("--store")
            .arg(&self.store)
            .args(args);
        run_command(cmd)
    }

    /// The run's delivered file.
    fn delivered(&self, sandbox: &Sandbox, run: i64) -> PathBuf {
        sandbox
            .path()
            .join(format!("exports-{}/export/{run}.csv", self.name))
    }

    fn identity(&self) -> String {
        block_on(async {
            let store = cronport::store::Store::open(&self.store).await.unwrap();
            let id = store.identity().to_string();
            store.close().await;
            id
        })
    }
}

/// The default spool folder every config in the sandbox shares.
fn spool(sandbox: &Sandbox) -> PathBuf {
    sandbox.path().join("xdg-data/cronport/spool")
}

fn kept_dir(sandbox: &Sandbox, side: &Side) -> PathBuf {
    spool(sandbox).join(side.identity()).join("kept")
}

/// Run the job once; its run id.
fn run_once(sandbox: &Sandbox, side: &Side) -> i64 {
    side.run(sandbox, &["jobs", "run", "export"])
        .ok("jobs run export");
    let runs = side
        .run(sandbox, &["runs", "list", "--json"])
        .ok("runs list")
        .json();
    runs[0]["id"].as_i64().unwrap()
}

/// Redeliver `run`, expecting exit `code`; stderr.
fn redeliver(sandbox: &Sandbox, side: &Side, run: i64, code: i32) -> String {
    side.run(sandbox, &["runs", "redeliver", &run.to_string()])
        .expect_code(code, &format!("redeliver {run} from {}", side.name))
        .stderr
}

/// Redeliver each store's run 1 after removing what the run delivered:
/// each gets its own content back.
fn each_redelivers_its_own(sandbox: &Sandbox, sides: &[&Side]) {
    for side in sides {
        let delivered = side.delivered(sandbox, 1);
        std::fs::remove_file(&delivered).unwrap();
        redeliver(sandbox, side, 1, 0);
        assert_eq!(
            std::fs::read_to_string(&delivered).unwrap(),
            format!("who\r\nteam-{}-data\r\n", side.name),
            "store {} redelivered another store's file",
            side.name
        );
    }
}

/// A refused redelivery: exit 1, the run named, nothing delivered.
fn refused(sandbox: &Sandbox, side: &Side, run: i64, says: &str) {
    let delivered = side.delivered(sandbox, run);
    let _ = std::fs::remove_file(&delivered);
    let stderr = redeliver(sandbox, side, run, 1);
    assert!(
        stderr.contains(&format!("run {run}")) && stderr.contains(says),
        "{stderr}"
    );
    assert!(
        !delivered.exists(),
        "a refused redelivery delivered {delivered:?}"
    );
}

/// Set the kept record's time `days` days back, as if kept then.
fn age_record(kept: &Path, run: i64, days: i64) {
    let path = kept.join(format!("run-{run}.kept"));
    let mut record: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let then = chrono::Utc::now() - chrono::Duration::days(days);
    record["kept_at"] = Value::String(then.to_rfc3339());
    std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
}

/// A process id that is not running.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn two_sqlite_stores_on_one_host_keep_their_own_outputs() {
    let sandbox = Sandbox::new();
    let url = |name: &str| format!("sqlite://{}", sandbox.path().join(name).display());
    let a = Side::new(&sandbox, "a", url("a.db"));
    let b = Side::new(&sandbox, "b", url("b.db"));
    assert_eq!(run_once(&sandbox, &a), 1);
    assert_eq!(run_once(&sandbox, &b), 1);
    assert_ne!(a.identity(), b.identity());
    each_redelivers_its_own(&sandbox, &[&a, &b]);

    // An unknown run is bad input.
    let stderr = redeliver(&sandbox, &a, 99, 2);
    assert!(stderr.contains("99"), "{stderr}");

    // B's kept file and record copied over A's run 1: not A's.
    let (kept_a, kept_b) = (kept_dir(&sandbox, &a), kept_dir(&sandbox, &b));
    let saved = sandbox.path().join("saved-a");
    std::fs::create_dir_all(&saved).unwrap();
    for name in ["run-1.csv", "run-1.kept"] {
        std::fs::rename(kept_a.join(name), saved.join(name)).unwrap();
        std::fs::copy(kept_b.join(name), kept_a.join(name)).unwrap();
    }
    refused(&sandbox, &a, 1, "another store");
    // Only B's data file copied over A's own: not the file A kept.
    std::fs::copy(saved.join("run-1.kept"), kept_a.join("run-1.kept")).unwrap();
    refused(&sandbox, &a, 1, "not the file this store kept");
    std::fs::rename(saved.join("run-1.csv"), kept_a.join("run-1.csv")).unwrap();
    redeliver(&sandbox, &a, 1, 0);

    // Expired (the daily prune has not come by yet), then missing.
    age_record(&kept_a, 1, 30);
    refused(&sandbox, &a, 1, "expired");
    age_record(&kept_a, 1, 0);
    std::fs::remove_file(kept_a.join("run-1.csv")).unwrap();
    refused(&sandbox, &a, 1, "no kept output");
    age_record(&kept_a, 1, 30);

    // Start of the next `jobs run`: the prune is due (no process pruned
    // today) and spool files of dead processes go, a live one's stay.
    std::fs::write(kept_a.join("run-1.csv"), "expired output").unwrap();
    let _ = std::fs::remove_file(kept_a.join(".pruned"));
    let dead = dead_pid();
    let live = std::process::id();
    let store_spool = spool(&sandbox).join(a.identity());
    let stale = [
        store_spool.join(format!("run-5-1-{dead}.csv")),
        spool(&sandbox).join(format!("run-6-2-{dead}.csv")),
    ];
    let in_use = [
        store_spool.join(format!("run-7-1-{live}.csv")),
        spool(&sandbox)
            .join(b.identity())
            .join(format!("run-8-1-{live}.csv")),
    ];
    for file in stale.iter().chain(&in_use) {
        std::fs::write(file, "partial").unwrap();
    }
    assert_eq!(run_once(&sandbox, &a), 2);
    for file in &stale {
        assert!(!file.exists(), "{file:?} of a dead process is still there");
    }
    for file in &in_use {
        assert!(file.exists(), "{file:?} of a live process was removed");
    }
    let mut left: Vec<String> = std::fs::read_dir(&kept_a)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".pruned", "run-2.csv", "run-2.kept"]);
    assert!(
        kept_b.join("run-1.csv").exists(),
        "B's outputs are B's to prune"
    );
    redeliver(&sandbox, &b, 1, 0);
}

#[test]
fn two_postgres_stores_on_one_host_keep_their_own_outputs() {
    let sandbox = Sandbox::new();
    let (db_a, db_b) = (PgDatabase::create(), PgDatabase::create());
    let a = Side::new(&sandbox, "a", db_a.url.clone());
    let b = Side::new(&sandbox, "b", db_b.url.clone());
    assert_eq!(run_once(&sandbox, &a), 1);
    assert_eq!(run_once(&sandbox, &b), 1);
    let (id_a, id_b) = (a.identity(), b.identity());
    assert_ne!(id_a, id_b);
    assert!(kept_dir(&sandbox, &a).join("run-1.kept").exists());
    each_redelivers_its_own(&sandbox, &[&a, &b]);
    // The identity is the store's, not the process's: the same again.
    assert_eq!(a.identity(), id_a);
}

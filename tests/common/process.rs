//! Helpers for tests of the real `cronport` binary: a private sandbox
//! (temp folder, XDG dirs, config, store), commands with a deadline, and a
//! headless child whose output is collected line by line.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_cronport");

/// How long any single CLI command may take before the test fails.
pub const COMMAND_DEADLINE: Duration = Duration::from_secs(30);

/// What a finished command left behind.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Panic with everything it printed unless it exited with `code`.
    pub fn expect_code(self, code: i32, what: &str) -> Output {
        assert_eq!(
            self.code,
            Some(code),
            "{what}: expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Exit 0 or panic.
    pub fn ok(self, what: &str) -> Output {
        self.expect_code(0, what)
    }

    /// stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n--- stderr\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A private world for one test: its own folder, XDG dirs, config and store.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// The store URL passed with `--store`.
    pub store: String,
}

impl Default for Sandbox {
    fn default() -> Self {
        Self::new()
    }
}

impl Sandbox {
    /// A sandbox with a SQLite store file in its folder.
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let store = format!("sqlite://{}", dir.path().join("store.db").display());
        for sub in ["xdg-data", "xdg-config", "xdg-state", "xdg-cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Sandbox { dir, store }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn config_path(&self) -> PathBuf {
        self.path().join("cronport.toml")
    }

    pub fn exports(&self) -> PathBuf {
        self.path().join("exports")
    }

    /// Write the config file.
    pub fn write_config(&self, text: &str) {
        std::fs::write(self.config_path(), text).unwrap();
    }

    /// Write a file in the sandbox and return its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// A `cronport` command with nothing from the real home or environment.
    pub fn bare_command(&self) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.current_dir(self.path())
            .env("HOME", self.path())
            .env("XDG_DATA_HOME", self.path().join("xdg-data"))
            .env("XDG_CONFIG_HOME", self.path().join("xdg-config"))
            .env("XDG_STATE_HOME", self.path().join("xdg-state"))
            .env("XDG_CACHE_HOME", self.path().join("xdg-cache"))
            .env("NO_COLOR", "1")
            .env_remove("CRONPORT_STORE")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        cmd
    }

    /// `cronport --config CONFIG --store STORE ARGS...`.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = self.bare_command();
        cmd.arg("--config")
            .arg(self.config_path())
            .arg("--store")
            .arg(&self.store)
            .args(args);
        cmd
    }

    /// Run `cronport ARGS` (with config and store) to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        run_command(self.command(args))
    }

    /// Start `cronport --headless ARGS` (with config and store).
    pub fn headless(&self, args: &[&str]) -> Headless {
        let mut cmd = self.command(&["--headless"]);
        cmd.args(args);
        Headless::spawn(cmd)
    }

    /// `cronport apply CONFIG`: store the config's jobs (naming the file, so
    /// this does not depend on `apply`'s default).
    pub fn apply_config(&self) -> Output {
        let config = self.config_path();
        self.run(&["apply", config.to_str().unwrap()])
            .ok("apply of the config file")
    }

    /// Every run in the store, newest first.
    pub fn runs(&self) -> Vec<Value> {
        let out = self
            .run(&["runs", "list", "--json", "--limit", "100000"])
            .ok("runs list --json");
        match out.json() {
            Value::Array(runs) => runs,
            other => panic!("runs list --json is not an array: {other}"),
        }
    }

    /// Every job in the store.
    pub fn jobs(&self) -> Vec<Value> {
        let out = self.run(&["jobs", "list", "--json"]).ok("jobs list --json");
        match out.json() {
            Value::Array(jobs) => jobs,
            other => panic!("jobs list --json is not an array: {other}"),
        }
    }

    /// One job of `jobs list --json`.
    pub fn job(&self, name: &str) -> Value {
        self.jobs()
            .into_iter()
            .find(|j| j["name"] == name)
            .unwrap_or_else(|| panic!("no job {name} in `jobs list --json`"))
    }
}

/// Run a command to completion within [`COMMAND_DEADLINE`].
pub fn run_command(mut cmd: Command) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start cronport");
    let stdout = read_all(child.stdout.take().unwrap());
    let stderr = read_all(child.stderr.take().unwrap());
    let status = wait_with_deadline(&mut child, COMMAND_DEADLINE).unwrap_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        panic!("{cmd:?} did not finish within {COMMAND_DEADLINE:?}");
    });
    Output {
        code: status.code(),
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

fn read_all(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Wait for `child` to exit, at most `limit`; `None` if it is still running.
pub fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Poll `probe` every 100 ms until it gives a value; panic after `limit`.
pub fn poll<T>(what: &str, limit: Duration, probe: impl FnMut() -> Option<T>) -> T {
    try_poll(limit, probe).unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Poll `probe` every 100 ms until it gives a value; `None` after `limit`.
pub fn try_poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A `cronport --headless` child; killed (SIGKILL) if the test leaves early.
pub struct Headless {
    pub child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Headless {
    /// Start `cmd` (a `cronport` command) with its output collected.
    pub fn spawn(mut cmd: Command) -> Headless {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start cronport --headless");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect_lines(child.stdout.take().unwrap(), stdout.clone()),
            collect_lines(child.stderr.take().unwrap(), stderr.clone()),
        ];
        Headless {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// stdout lines so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().unwrap().clone()
    }

    /// Everything printed so far, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.stdout().join("\n"),
            self.stderr().join("\n")
        )
    }

    /// Wait until a stdout line contains `needle`; panic (with the
    /// transcript) after `limit` or if the process exits first.
    pub fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.stdout().into_iter().find(|l| l.contains(needle)) {
                return line;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "cronport --headless exited ({status}) before printing {needle:?}\n{}",
                    self.transcript()
                );
            }
            if Instant::now() >= deadline {
                panic!(
                    "cronport --headless did not print {needle:?} within {limit:?}\n{}",
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Panic (with the transcript) if the process has exited.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "cronport --headless exited early ({status})\n{}",
                self.transcript()
            );
        }
    }

    /// Send a signal.
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).unwrap();
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// SIGTERM, then wait (at most `limit`) for the exit; returns the
    /// status. The output readers are finished when this returns.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        self.signal(libc::SIGTERM);
        let status = wait_with_deadline(&mut self.child, limit).unwrap_or_else(|| {
            panic!(
                "cronport --headless did not exit within {limit:?} of SIGTERM\n{}",
                self.transcript()
            )
        });
        self.join_readers();
        status
    }

    /// SIGKILL and reap (so the pid is really gone).
    pub fn kill9(&mut self) -> ExitStatus {
        self.signal(libc::SIGKILL);
        let status = self.child.wait().unwrap();
        self.join_readers();
        status
    }

    fn join_readers(&mut self) {
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
    }
}

impl Drop for Headless {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn collect_lines(
    pipe: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<Vec<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf)
                        .trim_end_matches(['\n', '\r'])
                        .to_string();
                    into.lock().unwrap().push(line);
                }
            }
        }
    })
}

/// Runs of `job` from a `runs list --json` answer.
pub fn runs_of<'a>(runs: &'a [Value], job: &str) -> Vec<&'a Value> {
    runs.iter().filter(|r| r["job"] == job).collect()
}

/// A run's field as text ("" when null).
pub fn text<'a>(run: &'a Value, key: &str) -> &'a str {
    run[key].as_str().unwrap_or("")
}

/// A config header with a local destination `out` rooted at `exports` in
/// the sandbox, a spool there too, and UTC as the default zone.
pub fn config_header() -> String {
    "[scheduler]\nspool_dir = \"spool\"\ndefault_timezone = \"UTC\"\n\n\
     [destinations.out]\nkind = \"local\"\nroot = \"exports\"\npath = \"{job}/{run_id}.{ext}\"\n\n"
        .to_string()
}

/// Quote a string as a TOML basic string.
pub fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A random lowercase suffix for names that must not collide across tests.
pub fn random_suffix() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..10)
        .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
        .collect()
}

/// Run a future to completion on a private current-thread runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Create (or open) the SQLite file `path` and run `script` in it.
pub fn sqlite_script(path: &Path, script: &str) {
    use sqlx::{AssertSqlSafe, Connection as _, Executor as _};
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    block_on(async {
        let mut conn = sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        conn.execute(AssertSqlSafe(script.to_string()))
            .await
            .unwrap_or_else(|e| panic!("run script in {}: {e}", path.display()));
        conn.close().await.unwrap();
    });
}

/// The local PostgreSQL server's admin URL (`CRONPORT_TEST_PG_URL` overrides).
pub fn pg_admin_url() -> String {
    std::env::var("CRONPORT_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// A fresh PostgreSQL database with a random name, dropped (with FORCE) when
/// this goes out of scope, also when the test panics.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        use sqlx::{AssertSqlSafe, Connection as _, Executor as _};
        let admin = pg_admin_url();
        let name = format!("cronport_proc_{}", random_suffix());
        block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| {
                panic!("PostgreSQL at {admin} is unreachable ({e}); start it with scripts/services.sh postgres")
            });
            conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .expect("create test database");
            conn.close().await.unwrap();
        });
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        let url = format!("{base}/{name}");
        PgDatabase { name, url }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::{AssertSqlSafe, Connection as _, Executor as _};
        let admin = pg_admin_url();
        let name = self.name.clone();
        let dropped = block_on(async move {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            conn.execute(AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await?;
            conn.close().await
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// The processes of group `pgid` that have not exited (zombies excluded),
/// read from /proc.
pub fn group_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue; // exited meanwhile
        };
        // Fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 1..]
            .split_whitespace()
            .collect();
        if fields[0] != "Z" && fields[2].parse::<i32>() == Ok(pgid) {
            members.push(pid);
        }
    }
    members
}

/// The pids a test program wrote to `file` (its own `$$`, the leader's,
/// first), once it has written `count` of them.
pub fn written_pids(file: &Path, count: usize) -> Vec<i32> {
    poll("the program's pids", Duration::from_secs(10), || {
        let text = std::fs::read_to_string(file).ok()?;
        let pids: Vec<i32> = text.lines().filter_map(|l| l.trim().parse().ok()).collect();
        (pids.len() >= count).then_some(pids)
    })
}

/// Wait (at most `limit`) until no process of group `pgid` remains and none
/// of `pids` runs; panic naming the survivors. Returns how long it took.
pub fn wait_group_gone(pgid: i32, pids: &[i32], limit: Duration) -> Duration {
    let began = Instant::now();
    let gone = try_poll(limit, || {
        (group_members(pgid).is_empty() && pids.iter().all(|&p| !is_running(p))).then_some(())
    });
    if gone.is_none() {
        panic!(
            "after {limit:?}, group {pgid} still has {:?} (written pids {pids:?}, running: {:?})",
            group_members(pgid),
            pids.iter().filter(|&&p| is_running(p)).collect::<Vec<_>>()
        );
    }
    began.elapsed()
}

/// Whether `pid` is a process that has not exited.
pub fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        !stat[stat.rfind(')').unwrap_or(0) + 1..]
            .trim_start()
            .starts_with('Z')
    })
}

//! Checks before delivery, through the real binary, on SQLite and on
//! PostgreSQL: a run whose output fails a check is held (kept, nothing
//! delivered), released (delivered, then succeeded) or discarded (its file
//! removed); `on_check_fail = "skip"` and `"fail"`; checks beside
//! `deliver = "on_change"`; releasing or discarding a run that is not held
//! exits 2 naming it and delivers nothing; bad checks in the config exit 2
//! naming the key. The scheduler's maintenance pass expiring a hold is in
//! `held_expiry.rs`.

mod common;

use std::path::Path;

use common::process::{PgDatabase, Sandbox, config_header, runs_of, text};
use serde_json::Value;

/// `sales`: a CSV from `sales.csv`, every check on, held for an hour.
fn sales_job(extra: &str) -> String {
    format!(
        "[[jobs]]\nname = \"sales\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"cat\", \"sales.csv\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
         checks = {{ not_empty = true, min_rows = 2, max_change = \"50%\", schema = \"stable\" }}\n\
         hold_for = \"1h\"\n{extra}"
    )
}

/// `rows` lines of `id,amount` (integers).
fn sales(rows: usize) -> String {
    let mut text = "id,amount\n".to_string();
    for i in 0..rows {
        text.push_str(&format!("{i},{}\n", i * 10));
    }
    text
}

/// Run `job` now and wait; the newest run of it, as `runs show --json`.
fn run_now(sandbox: &Sandbox, job: &str, code: i32) -> Value {
    sandbox
        .run(&["jobs", "run", job, "--wait"])
        .expect_code(code, &format!("jobs run {job} --wait"));
    let runs = sandbox.runs();
    let newest = runs_of(&runs, job)
        .first()
        .map(|r| (*r).clone())
        .unwrap_or_else(|| panic!("a run of {job}"));
    show(sandbox, newest["id"].as_i64().expect("an id"))
}

fn show(sandbox: &Sandbox, id: i64) -> Value {
    sandbox
        .run(&["runs", "show", &id.to_string(), "--json"])
        .ok("runs show --json")
        .json()
}

fn files_under(dir: &Path) -> Vec<String> {
    common::files_under(dir)
        .into_iter()
        .map(|p| p.display().to_string())
        .collect()
}

/// Hold, release, a second release refused, a schema change held and
/// discarded, releases and discards of runs that are not held refused.
fn hold_release_and_discard(sandbox: &Sandbox) {
    sandbox.write("sales.csv", &sales(10));
    sandbox.write_config(&format!("{}{}", config_header(), sales_job("")));
    sandbox.apply_config();
    let folder = sandbox.exports().join("sales");

    let first = run_now(sandbox, "sales", 0);
    assert_eq!(text(&first, "status"), "succeeded", "{first}");
    assert_eq!(first["failed_check"], Value::Null, "{first}");
    assert_eq!(first["schema"][0]["name"], "id", "{first}");
    assert_eq!(first["schema"][0]["type"], "text", "{first}");
    assert_eq!(files_under(&folder).len(), 1);

    // 10 rows -> 2: -80%, beyond 50%. Held: nothing delivered.
    sandbox.write("sales.csv", &sales(2));
    let out = sandbox
        .run(&["jobs", "run", "sales", "--wait"])
        .expect_code(1, "a held run");
    assert!(out.stderr.contains("held"), "{}", out.stderr);
    assert!(
        out.stderr.contains("cronport runs release"),
        "{}",
        out.stderr
    );
    let held_id = runs_of(&sandbox.runs(), "sales")[0]["id"]
        .as_i64()
        .expect("id");
    let held = show(sandbox, held_id);
    assert_eq!(text(&held, "status"), "held", "{held}");
    assert_eq!(text(&held, "failed_check"), "max_change", "{held}");
    assert_eq!(
        text(&held, "error"),
        "max_change: 2 rows, last success had 10 (-80%, limit 50%)"
    );
    assert!(held["held_until"].is_string(), "{held}");
    assert_eq!(held["rows"], 2, "{held}");
    assert_eq!(held["deliveries"], serde_json::json!([]), "{held}");
    assert_eq!(files_under(&folder).len(), 1, "the held run sent nothing");
    let list = sandbox.run(&["runs", "list", "--job", "sales"]).ok("list");
    let line = list
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&held_id.to_string()))
        .unwrap_or_else(|| panic!("no line for run {held_id}:\n{}", list.stdout));
    assert!(line.contains("held"), "{line}");
    assert!(line.contains("max_change: 2 rows"), "{line}");
    let held_list = sandbox
        .run(&["runs", "list", "--status", "held", "--json"])
        .ok("list --status held")
        .json();
    assert_eq!(held_list.as_array().map(Vec::len), Some(1), "{held_list}");

    // Releasing a run that is not held: exit 2, naming it; nothing sent.
    let first_id = first["id"].to_string();
    let refused = sandbox
        .run(&["runs", "release", &first_id])
        .expect_code(2, "release of a succeeded run");
    assert!(
        refused.stderr.contains(&format!(
            "run {first_id} is not held (its status is succeeded)"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(files_under(&folder).len(), 1);

    let released = sandbox
        .run(&["runs", "release", &held_id.to_string()])
        .ok("runs release");
    assert!(released.stdout.contains("delivered"), "{}", released.stdout);
    let after = show(sandbox, held_id);
    assert_eq!(text(&after, "status"), "succeeded", "{after}");
    assert_eq!(after["error"], Value::Null, "{after}");
    assert_eq!(after["deliveries"][0]["status"], "delivered", "{after}");
    let delivered = folder.join(format!("{held_id}.csv"));
    let body = std::fs::read_to_string(&delivered).expect("the released file");
    assert_eq!(
        body.replace("\r\n", "\n"),
        sales(2),
        "the held run's output as rendered"
    );
    assert_eq!(after["outputs"][0], delivered.display().to_string());
    // Released once: a second release is refused.
    let again = sandbox
        .run(&["runs", "release", &held_id.to_string()])
        .expect_code(2, "a second release");
    assert!(
        again.stderr.contains("(its status is succeeded)"),
        "{}",
        again.stderr
    );

    // The released run is now the measure: 2 rows again passes.
    let third = run_now(sandbox, "sales", 0);
    assert_eq!(text(&third, "status"), "succeeded", "{third}");

    // A new column: the schema check holds it; discard drops it.
    sandbox.write("sales.csv", "id,amount,region\n1,10,north\n2,20,south\n");
    let changed = run_now(sandbox, "sales", 1);
    assert_eq!(text(&changed, "status"), "held", "{changed}");
    assert_eq!(text(&changed, "failed_check"), "schema", "{changed}");
    assert_eq!(
        text(&changed, "error"),
        "schema: the columns changed since the last success: added region (text)"
    );
    let changed_id = changed["id"].to_string();
    let kept = common::files_under(&sandbox.path().join("spool"));
    assert!(
        kept.iter()
            .any(|p| p.ends_with(format!("kept/run-{changed_id}.csv"))),
        "the held output is kept: {kept:?}"
    );
    sandbox
        .run(&["runs", "discard", &changed_id])
        .ok("runs discard");
    let dropped = show(sandbox, changed["id"].as_i64().expect("id"));
    assert_eq!(text(&dropped, "status"), "discarded", "{dropped}");
    assert!(
        text(&dropped, "error").starts_with("discarded by hand (held: schema:"),
        "{dropped}"
    );
    let kept = common::files_under(&sandbox.path().join("spool"));
    assert!(
        !kept
            .iter()
            .any(|p| p.ends_with(format!("kept/run-{changed_id}.csv"))),
        "the discarded output is removed: {kept:?}"
    );
    let twice = sandbox
        .run(&["runs", "discard", &changed_id])
        .expect_code(2, "a second discard");
    assert!(
        twice.stderr.contains(&format!(
            "run {changed_id} is not held (its status is discarded)"
        )),
        "{}",
        twice.stderr
    );
    sandbox
        .run(&["runs", "release", &changed_id])
        .expect_code(2, "release of a discarded run");
    let unknown = sandbox
        .run(&["runs", "discard", "999999"])
        .expect_code(2, "discard of no run");
    assert!(
        unknown.stderr.contains("no run with id 999999"),
        "{}",
        unknown.stderr
    );
    assert_eq!(
        files_under(&folder).len(),
        3,
        "the first, released and third runs' files: {:?}",
        files_under(&folder)
    );
}

/// `skip` records the run skipped by the check; `fail` fails it with the
/// check's message, after one attempt though retries are allowed; checks
/// beside `deliver = "on_change"`.
fn skip_fail_and_on_change(sandbox: &Sandbox) {
    sandbox.write("empty.csv", "id,amount\n");
    sandbox.write("stock.csv", &sales(3));
    let job = |name: &str, file: &str, extra: &str| {
        format!(
            "[[jobs]]\nname = \"{name}\"\nschedule = \"0 0 1 1 *\"\n\
             source = {{ kind = \"command\", argv = [\"cat\", \"{file}\"] }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\
             checks = {{ not_empty = true }}\n{extra}"
        )
    };
    sandbox.write_config(&format!(
        "{}{}{}{}",
        config_header(),
        job(
            "skipper",
            "empty.csv",
            "on_check_fail = \"skip\"\nretries = 0\n"
        ),
        job(
            "failer",
            "empty.csv",
            "on_check_fail = \"fail\"\nretries = 3\n"
        ),
        job(
            "stock",
            "stock.csv",
            "deliver = \"on_change\"\nretries = 0\n"
        ),
    ));
    sandbox.apply_config();

    let skipped = run_now(sandbox, "skipper", 0);
    assert_eq!(text(&skipped, "status"), "skipped", "{skipped}");
    assert_eq!(text(&skipped, "failed_check"), "not_empty", "{skipped}");
    assert_eq!(text(&skipped, "error"), "not_empty: the output has no rows");
    assert_eq!(skipped["deliveries"], serde_json::json!([]), "{skipped}");
    assert!(files_under(&sandbox.exports().join("skipper")).is_empty());

    let failed = run_now(sandbox, "failer", 1);
    assert_eq!(text(&failed, "status"), "failed", "{failed}");
    assert_eq!(
        text(&failed, "error"),
        "check failed: not_empty: the output has no rows"
    );
    assert_eq!(
        failed["attempt"], 1,
        "a failed check is not retried: {failed}"
    );
    assert!(files_under(&sandbox.exports().join("failer")).is_empty());

    let stock = sandbox.exports().join("stock");
    let first = run_now(sandbox, "stock", 0);
    assert_eq!(first["unchanged"], false, "{first}");
    let second = run_now(sandbox, "stock", 0);
    assert_eq!(text(&second, "status"), "succeeded", "{second}");
    assert_eq!(second["unchanged"], true, "{second}");
    assert_eq!(files_under(&stock).len(), 1);
    // Empty now: a failed check holds it, whether or not it changed.
    sandbox.write("stock.csv", "id,amount\n");
    let third = run_now(sandbox, "stock", 1);
    assert_eq!(text(&third, "status"), "held", "{third}");
    assert_eq!(third["unchanged"], false, "{third}");
    assert_eq!(files_under(&stock).len(), 1);
    sandbox
        .run(&["runs", "release", &third["id"].to_string()])
        .ok("release");
    assert_eq!(files_under(&stock).len(), 2);
    // Released, it is the last delivered: the same empty output again is
    // still held by its check, not passed as unchanged.
    let fourth = run_now(sandbox, "stock", 1);
    assert_eq!(text(&fourth, "status"), "held", "{fourth}");
}

#[test]
fn a_held_run_is_released_or_discarded_on_sqlite() {
    hold_release_and_discard(&Sandbox::new());
}

/// The headless log says a run was held, by which check, and how to
/// release it; the run's stored log says so too.
#[test]
fn the_headless_log_says_a_run_was_held() {
    let sandbox = Sandbox::new();
    sandbox.write("sales.csv", &sales(1));
    sandbox.write_config(&format!("{}{}", config_header(), sales_job("")));
    sandbox.apply_config();
    let mut headless = sandbox.headless(&[]);
    let limit = std::time::Duration::from_secs(30);
    headless.wait_for_line("scheduler started", limit);
    // Through the running instance: it carries the run out and logs it.
    sandbox
        .run(&["jobs", "run", "sales", "--wait"])
        .expect_code(1, "a held run");
    let line = headless.wait_for_line("held: min_rows", limit);
    assert!(line.contains("sales"), "the line names the job: {line}");
    assert!(line.contains("cronport runs release"), "{line}");
    headless.terminate(limit);
    let id = runs_of(&sandbox.runs(), "sales")[0]["id"].to_string();
    let logs = sandbox.run(&["runs", "logs", &id]).ok("runs logs");
    assert!(
        logs.stdout.contains("held: min_rows: 1 row"),
        "{}",
        logs.stdout
    );
}

#[test]
fn a_held_run_is_released_or_discarded_on_postgres() {
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    hold_release_and_discard(&sandbox);
}

#[test]
fn skip_fail_and_on_change_with_checks_on_sqlite() {
    skip_fail_and_on_change(&Sandbox::new());
}

#[test]
fn skip_fail_and_on_change_with_checks_on_postgres() {
    let db = PgDatabase::create();
    let mut sandbox = Sandbox::new();
    sandbox.store = db.url.clone();
    skip_fail_and_on_change(&sandbox);
}

#[test]
fn bad_checks_exit_2_naming_the_key() {
    let cases = [
        (
            "checks = { not_empty = true, rows_between = 3 }",
            "jobs[0] (j).checks.rows_between: \"rows_between\" is not a check: use not_empty, \
             min_rows, max_rows, max_change, schema",
        ),
        (
            "checks = { max_change = \"lots\" }",
            "jobs[0] (j).checks.max_change: \"lots\" is not a percentage",
        ),
        (
            "checks = { max_change = 50 }",
            "jobs[0] (j).checks.max_change: 50 is not a percentage",
        ),
        (
            "checks = { min_rows = 10, max_rows = 5 }",
            "jobs[0] (j).checks.min_rows: 10 is above checks.max_rows (5)",
        ),
        (
            "checks = { not_empty = true }\non_check_fail = \"ignore\"",
            "jobs[0] (j).on_check_fail: \"ignore\" is not a check outcome",
        ),
    ];
    for (extra, needle) in cases {
        let sandbox = Sandbox::new();
        sandbox.write_config(&format!(
            "{}[[jobs]]\nname = \"j\"\nschedule = \"daily at 02:00\"\n\
             source = {{ kind = \"command\", argv = [\"true\"] }}\n\
             format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n{extra}\n",
            config_header()
        ));
        let out = sandbox.run(&["jobs", "list"]).expect_code(2, extra);
        assert!(
            out.stderr.contains(needle),
            "{extra}: wanted {needle:?}\n--- stderr\n{}",
            out.stderr
        );
        assert!(
            !sandbox.path().join("store.db").exists(),
            "{extra}: a bad config still created the store"
        );
    }
}

/// The README's example and config/cronport.toml's commented one load as
/// written, with the checks they say.
#[test]
fn the_documented_checks_load_as_written() {
    use cronport::config::Config;
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let section = "## Checks before delivery, and holds";
    let start = readme.find(section).expect("the README section");
    let rest = &readme[start..];
    let block = rest
        .split_once("```toml\n")
        .and_then(|(_, after)| after.split_once("\n```"))
        .map(|(block, _)| block)
        .expect("a toml block");
    let base = tempfile::tempdir().expect("temp dir");
    let text = format!(
        "[sources.shop]\nurl = \"sqlite://shop.db\"\n\n\
         [destinations.exports]\nkind = \"local\"\nroot = \"exports\"\n\n{block}\n"
    );
    let config = Config::parse(&text, base.path())
        .unwrap_or_else(|e| panic!("the README example does not load: {e}\n{block}"));
    let checks = config.jobs[0].policy.checks.expect("checks");
    assert!(checks.not_empty && checks.schema_stable);
    assert_eq!(
        (checks.min_rows, checks.max_rows, checks.max_change),
        (Some(100), Some(1_000_000), Some(5000))
    );

    // config/cronport.toml: the commented lines, uncommented.
    let path = root.join("config/cronport.toml");
    let text = std::fs::read_to_string(&path).expect("config/cronport.toml");
    let uncommented: Vec<String> = text
        .lines()
        .map(|line| {
            let keys = ["# checks = ", "# on_check_fail = ", "# hold_for = "];
            match keys.iter().any(|k| line.starts_with(k)) {
                true => line[2..].to_string(),
                false => line.to_string(),
            }
        })
        .collect();
    let config = Config::parse(&uncommented.join("\n"), path.parent().expect("folder"))
        .unwrap_or_else(|e| panic!("config/cronport.toml's example does not load: {e}"));
    let job = config
        .jobs
        .iter()
        .find(|j| j.spec.checks.is_some())
        .expect("a job with checks");
    let checks = job.policy.checks.expect("checks");
    assert_eq!(checks.max_change, Some(5000));
    assert_eq!(checks.action, cronport::job::CheckAction::Hold);
}

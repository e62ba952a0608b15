//! `cronport check` tries every job for real, as the binary is run: sql
//! queries on real SQLite files, the local PostgreSQL and MariaDB, programs on
//! disk, globs in a folder, HTTP servers on loopback, destinations, and
//! jobs that only the store still holds.

mod common;

use common::process::{
    Output, PgDatabase, Sandbox, block_on, config_header, sqlite_script, toml_str,
};
use common::servers::{Webhook, free_port};
use serde_json::Value;

/// The `job NAME` line of `check`'s text output.
fn job_line<'a>(out: &'a Output, name: &str) -> &'a str {
    let needle = format!(" job {name} [");
    out.stdout
        .lines()
        .find(|line| line.contains(&needle))
        .unwrap_or_else(|| panic!("no line for job {name}:\n{}", out.stdout))
}

fn assert_ok(out: &Output, name: &str) -> String {
    let line = job_line(out, name);
    assert!(
        line.starts_with("ok   job"),
        "job {name} should pass: {line}\n{}",
        out.stdout
    );
    line.to_string()
}

fn assert_fails(out: &Output, name: &str, reason: &str) {
    let line = job_line(out, name);
    assert!(
        line.starts_with("FAIL job") && line.contains(reason),
        "job {name} should fail naming {reason:?}: {line}\n{}",
        out.stdout
    );
}

/// A `[[jobs]]` entry with `source` (a TOML inline table) to the `out`
/// destination of [`config_header`].
fn job(name: &str, source: &str) -> String {
    format!(
        "[[jobs]]\nname = \"{name}\"\nschedule = \"0 3 * * *\"\nsource = {source}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
    )
}

fn sql(connection: &str, query: &str) -> String {
    format!(
        "{{ kind = \"sql\", connection = \"{connection}\", query = {} }}",
        toml_str(query)
    )
}

/// The slot parameters are bound: a query that uses all four runs.
const WINDOWED: &str = "select id, name from t where :window_start < :window_end \
                        and :scheduled_for = :window_end and :run_id = 0";

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
    let table = format!("cronport_check_{}", common::process::random_suffix());
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

#[test]
fn command_jobs_need_an_executable_program_which_is_not_run() {
    use std::os::unix::fs::PermissionsExt as _;
    let sandbox = Sandbox::new();
    let marker = sandbox.path().join("ran");
    let script = sandbox.write(
        "export.sh",
        &format!("#!/bin/sh\ntouch {}\necho id\necho 1\n", marker.display()),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    sandbox.write("plain.sh", "#!/bin/sh\necho id\n");
    let command = |argv: &str| format!("{{ kind = \"command\", argv = [{argv}] }}");
    sandbox.write_config(&format!(
        "{}{}{}{}{}",
        config_header(),
        job("runs", &command("\"./export.sh\"")),
        job("on-path", &command("\"sh\", \"-c\", \"echo id\"")),
        job("no-program", &command("\"cronport-no-such-program\"")),
        job("not-executable", &command("\"./plain.sh\"")),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with programs that cannot run");
    let line = assert_ok(&out, "runs");
    assert!(line.contains("(not run)"), "{line}");
    assert_ok(&out, "on-path");
    assert_fails(&out, "no-program", "not found on PATH");
    assert_fails(&out, "not-executable", "plain.sh is not executable");
    assert!(!marker.exists(), "check ran the program");
}

#[test]
fn file_jobs_need_a_matching_file() {
    let sandbox = Sandbox::new();
    std::fs::create_dir(sandbox.path().join("data")).expect("data folder");
    sandbox.write("data/a.csv", "id\n1\n");
    sandbox.write("data/b.csv", "id\n2\n");
    sqlite_script(
        &sandbox.path().join("data.db"),
        "create table t (n integer);",
    );
    let file = |path: &str| format!("{{ kind = \"file\", path = \"{path}\" }}");
    // A template query without a row fails the run, so it fails the check.
    let empty_template = "{ kind = \"file\", path = \"data/a.csv\", template = true, \
                          template_query = { connection = \"db\", query = \"select n from t\" } }";
    sandbox.write_config(&format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n{}{}{}{}",
        config_header(),
        job("two-files", &file("data/*.csv")),
        job("no-match", &file("data/*.json")),
        job("no-file", &file("data/c.csv")),
        job("empty-template", empty_template),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with globs that match nothing");
    let line = assert_ok(&out, "two-files");
    assert!(
        line.contains("2 readable file(s) match data/*.csv"),
        "{line}"
    );
    assert_fails(&out, "no-match", "no file matches");
    assert_fails(&out, "no-file", "no such file");
    assert_fails(
        &out,
        "empty-template",
        "template_query: query on db ran: 1 column(s), no rows",
    );
}

#[test]
fn http_jobs_need_a_server_that_answers() {
    let live = Webhook::start(&[]);
    let failing = Webhook::start(&["503", "503"]);
    // A server that refuses HEAD is asked with GET.
    let no_head = Webhook::start(&["405", "200"]);
    let closed = free_port();
    let http = |url: &str| format!("{{ kind = \"http\", url = \"{url}\" }}");
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{}{}{}{}",
        config_header(),
        job("no-head", &http(&no_head.url("/report.json"))),
        job("live", &http(&live.url("/report.json"))),
        job("failing", &http(&failing.url("/report.json"))),
        job(
            "closed",
            &http(&format!("http://127.0.0.1:{closed}/report.json"))
        ),
    ));
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a closed port and a failing server");
    let line = assert_ok(&out, "live");
    assert!(line.contains("HTTP 200 to HEAD"), "{line}");
    assert_fails(&out, "failing", "503");
    let line = assert_ok(&out, "no-head");
    assert!(line.contains("HTTP 200 to GET"), "{line}");
    let methods: Vec<String> = no_head.requests().into_iter().map(|r| r.method).collect();
    assert_eq!(methods, ["HEAD", "GET"]);
    assert_fails(&out, "closed", "Connection refused");
    let requests = live.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "HEAD");
    assert_eq!(requests[0].path, "/report.json");
}

#[test]
fn jobs_only_in_the_store_are_checked_too() {
    let sandbox = Sandbox::new();
    let data = sandbox.path().join("data.db");
    sqlite_script(
        &data,
        "create table t (id integer); create table legacy (id integer);",
    );
    let header = format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n",
        config_header()
    );
    sandbox.write_config(&format!(
        "{header}{}{}",
        job("kept", &sql("db", "select id from t")),
        job("legacy", &sql("db", "select id from legacy")),
    ));
    sandbox.apply_config();
    // `legacy` leaves the config file and its table goes away; the store
    // still runs it. `kept` is edited in the file but not applied: the
    // stored query is what runs, so it is what is checked.
    sandbox.write_config(&format!(
        "{header}{}",
        job("kept", &sql("db", "select id from nope"))
    ));
    sqlite_script(&data, "drop table legacy;");
    let out = sandbox
        .run(&["check"])
        .expect_code(1, "check with a broken job that only the store has");
    assert!(out.stdout.contains("ok   config"), "{}", out.stdout);
    let line = assert_ok(&out, "kept");
    assert!(
        line.contains("[store]") && line.contains("definition differs"),
        "{line}"
    );
    let line = job_line(&out, "legacy");
    assert!(line.contains("[store only]"), "{line}");
    assert_fails(&out, "legacy", "no such table: legacy");

    // A stored job that no longer fits the config (its destination is gone)
    // is named with the key that broke.
    sandbox.write_config(
        "[sources.db]\nurl = \"sqlite://data.db\"\n\n[destinations.other]\nkind = \"local\"\n\
         root = \"exports\"\npath = \"{job}.{ext}\"\n",
    );
    let out = sandbox
        .run(&["check", "--json"])
        .expect_code(1, "check of stored jobs whose destination is gone");
    let report = out.json();
    assert_eq!(report["ok"], false);
    let jobs: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks is an array")
        .iter()
        .filter(|c| c["kind"] == "job")
        .collect();
    assert_eq!(jobs.len(), 2, "{report}");
    for job in jobs {
        assert_eq!(job["ok"], false, "{job}");
        assert_eq!(job["origin"], "store only", "{job}");
        let detail = job["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("out"), "{detail}");
    }
}

#[test]
fn a_healthy_config_passes_with_one_line_per_check() {
    let sandbox = Sandbox::new();
    sqlite_script(
        &sandbox.path().join("data.db"),
        "create table t (id integer, name text); insert into t values (1, 'a');",
    );
    let live = Webhook::start(&[]);
    sandbox.write("data.csv", "id\n1\n");
    sandbox.write_config(&format!(
        "{}[sources.db]\nurl = \"sqlite://data.db\"\n\n{}{}{}{}",
        config_header(),
        job("query", &sql("db", WINDOWED)),
        job(
            "program",
            "{ kind = \"command\", argv = [\"sh\", \"-c\", \"echo id\"] }"
        ),
        job("file", "{ kind = \"file\", path = \"data.csv\" }"),
        job(
            "api",
            &format!("{{ kind = \"http\", url = \"{}\" }}", live.url("/x"))
        ),
    ));
    sandbox.apply_config();
    let out = sandbox.run(&["check"]).ok("check of a healthy config");
    assert!(!out.stdout.contains("FAIL"), "{}", out.stdout);
    for name in ["query", "program", "file", "api"] {
        let line = assert_ok(&out, name);
        assert!(line.contains("[store]"), "{line}");
        assert!(line.contains("destinations out"), "{line}");
    }
    assert!(out.stdout.contains("ok   source db"), "{}", out.stdout);
    assert!(
        out.stdout.contains("ok   destination out:"),
        "{}",
        out.stdout
    );

    let report = sandbox.run(&["check", "--json"]).ok("check --json").json();
    assert_eq!(report["ok"], true, "{report}");
    let checks = report["checks"].as_array().expect("checks is an array");
    let kinds: Vec<&str> = checks.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "config",
            "store",
            "source",
            "destination",
            "job",
            "job",
            "job",
            "job"
        ],
        "{report}"
    );
    for check in checks {
        assert_eq!(check["ok"], true, "{check}");
    }
    let query = checks
        .iter()
        .find(|c| c["name"] == "query")
        .expect("the query job is reported");
    // Checked with the parameters of the next 03:00 UTC slot.
    let slot = query["slot"].as_str().expect("a slot");
    assert!(slot.ends_with("T03:00:00Z"), "{slot}");
}

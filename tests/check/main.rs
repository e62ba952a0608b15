//! `cronport check` tries every job for real, as the binary is run: sql
//! queries on real SQLite files, the local PostgreSQL and MariaDB
//! (`sql.rs`), programs on disk, globs in a folder and HTTP servers on
//! loopback (`sources.rs`), destinations, jobs that only the store still
//! holds, and a healthy config (`jobs.rs`).

#[path = "../common/mod.rs"]
mod common;

mod jobs;
mod made;
mod sources;
mod sql;

use common::process::{Output, toml_str};

/// The `job NAME` line of `check`'s text output.
pub fn job_line<'a>(out: &'a Output, name: &str) -> &'a str {
    let needle = format!(" job {name} [");
    out.stdout
        .lines()
        .find(|line| line.contains(&needle))
        .unwrap_or_else(|| panic!("no line for job {name}:\n{}", out.stdout))
}

/// The line of job `name`, which must pass.
pub fn assert_ok(out: &Output, name: &str) -> String {
    let line = job_line(out, name);
    assert!(
        line.starts_with("ok   job"),
        "job {name} should pass: {line}\n{}",
        out.stdout
    );
    line.to_string()
}

/// Job `name` must fail, its line naming `reason`.
pub fn assert_fails(out: &Output, name: &str, reason: &str) {
    let line = job_line(out, name);
    assert!(
        line.starts_with("FAIL job") && line.contains(reason),
        "job {name} should fail naming {reason:?}: {line}\n{}",
        out.stdout
    );
}

/// A `[[jobs]]` entry with `source` (a TOML inline table) to the `out`
/// destination of `config_header`.
pub fn job(name: &str, source: &str) -> String {
    format!(
        "[[jobs]]\nname = \"{name}\"\nschedule = \"0 3 * * *\"\nsource = {source}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
    )
}

/// A sql source on `connection` (a TOML inline table).
pub fn sql(connection: &str, query: &str) -> String {
    format!(
        "{{ kind = \"sql\", connection = \"{connection}\", query = {} }}",
        toml_str(query)
    )
}

/// The slot parameters are bound: a query that uses all four runs.
pub const WINDOWED: &str = "select id, name from t where :window_start < :window_end \
                        and :scheduled_for = :window_end and :run_id = 0";

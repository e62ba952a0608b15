//! Bad input to the real binary: every malformed config key, cron field,
//! zone, duration, path pattern and flag exits 2 with a message that names
//! it, and `apply` of a file with one bad job changes nothing in the store.

mod common;

use common::process::{Sandbox, config_header};

/// A job body that is valid against [`config_header`] plus `[sources.db]`.
fn good_job(name: &str) -> String {
    format!(
        "[[jobs]]\nname = \"{name}\"\nschedule = \"0 3 * * *\"\n\
         source = {{ kind = \"command\", argv = [\"echo\", \"a\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n\n"
    )
}

const SOURCES: &str = "[sources.db]\nurl = \"sqlite://data.db\"\n\n";

/// Load `config` with `jobs list`; it must exit 2, print every needle on
/// stderr, print nothing on stdout and not create the store.
fn expect_config_error(case: &str, config: &str, needles: &[&str]) {
    let sandbox = Sandbox::new();
    sandbox.write_config(config);
    let out = sandbox.run(&["jobs", "list"]);
    assert_eq!(
        out.code,
        Some(2),
        "{case}: expected exit 2\n--- config\n{config}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout,
        out.stderr
    );
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "{case}: stderr does not name {needle:?}\n--- config\n{config}\n--- stderr\n{}",
            out.stderr
        );
    }
    // The message names the file it is about.
    assert!(
        out.stderr.contains("cronport.toml"),
        "{case}: stderr does not name the config file\n{}",
        out.stderr
    );
    assert!(
        out.stdout.trim().is_empty(),
        "{case}: printed on stdout: {}",
        out.stdout
    );
    assert!(
        !sandbox.path().join("store.db").exists(),
        "{case}: a bad config still created the store"
    );
}

#[test]
fn unknown_keys_are_named_wherever_they_are() {
    let header = config_header();
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "top level",
            format!("colour = \"blue\"\n{header}{}", good_job("a")),
            vec!["colour"],
        ),
        (
            "[store]",
            format!("[store]\nurl = \"sqlite://x.db\"\npassword = \"x\"\n\n{header}"),
            vec!["password"],
        ),
        (
            "[scheduler]",
            header.replace("[scheduler]\n", "[scheduler]\nmax_concurent_runs = 2\n"),
            vec!["max_concurent_runs"],
        ),
        (
            "a destination",
            header.replace("kind = \"local\"\n", "kind = \"local\"\nrooot = \"x\"\n"),
            vec!["rooot"],
        ),
        (
            "a source connection",
            format!("{header}[sources.db]\nurl = \"sqlite://data.db\"\npasword_env = \"X\"\n"),
            vec!["pasword_env"],
        ),
        (
            "a job",
            format!(
                "{header}{}",
                good_job("a").replace("format =", "retrys = 2\nformat =")
            ),
            vec!["retrys"],
        ),
        (
            "a job's command source",
            format!(
                "{header}{}",
                good_job("a").replace(
                    "argv = [\"echo\", \"a\"]",
                    "argv = [\"echo\"], shell = true"
                )
            ),
            vec!["shell"],
        ),
        (
            "a job's sql source",
            format!(
                "{header}{SOURCES}{}",
                good_job("a").replace(
                    "{ kind = \"command\", argv = [\"echo\", \"a\"] }",
                    "{ kind = \"sql\", connection = \"db\", query = \"select 1\", params = 1 }"
                )
            ),
            vec!["params"],
        ),
        (
            "a job's format",
            format!(
                "{header}{}",
                good_job("a").replace("{ kind = \"csv\" }", "{ kind = \"csv\", colour = \"red\" }")
            ),
            vec!["colour"],
        ),
    ];
    for (case, config, needles) in cases {
        expect_config_error(case, &config, &needles);
    }
}

#[test]
fn malformed_cron_fields_are_named() {
    let header = config_header();
    let cases = [
        ("0 25 * * *", "cron field 2 (hour)"),
        ("61 * * * *", "cron field 1 (minute)"),
        ("0 0 32 * *", "cron field 3 (day of month)"),
        ("0 0 * 13 *", "cron field 4 (month)"),
        ("0 0 * * funday", "cron field 5 (day of week)"),
        ("60 * * * * *", "cron field 1 (second)"),
        ("0 0 25 * * *", "cron field 3 (hour)"),
        ("* * *", "expected 5 or 6 fields, found 3"),
    ];
    for (schedule, needle) in cases {
        let config = format!(
            "{header}{}",
            good_job("broken").replace("\"0 3 * * *\"", &format!("\"{schedule}\""))
        );
        expect_config_error(
            &format!("schedule {schedule:?}"),
            &config,
            &["jobs[0] (broken).schedule", needle],
        );
    }
    // The same messages from `next`, which needs no config.
    for (schedule, needle) in cases {
        let sandbox = Sandbox::new();
        let out = sandbox
            .run(&["next", schedule, "--tz", "UTC"])
            .expect_code(2, &format!("next {schedule:?}"));
        assert!(
            out.stderr.contains(needle),
            "next {schedule:?}: stderr does not say {needle:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn bad_values_in_the_config_are_named() {
    let header = config_header();
    let job = good_job("j");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "unknown job zone",
            format!(
                "{header}{}",
                job.replace("schedule =", "timezone = \"Mars/Olympus\"\nschedule =")
            ),
            vec!["jobs[0] (j).timezone", "unknown time zone \"Mars/Olympus\""],
        ),
        (
            "unknown default zone",
            header.replace(
                "default_timezone = \"UTC\"",
                "default_timezone = \"Europe/Berln\"",
            ),
            vec![
                "scheduler.default_timezone",
                "Europe/Berln",
                "Europe/Berlin",
            ],
        ),
        (
            "audit_days of 0",
            header.replace("[scheduler]\n", "[scheduler]\naudit_days = 0\n"),
            vec!["scheduler.audit_days", "at least 1"],
        ),
        (
            "bad duration",
            format!(
                "{header}{}",
                job.replace("format =", "timeout = \"10 minutes\"\nformat =")
            ),
            vec!["timeout", "\"10 minutes\" is not a duration"],
        ),
        (
            "bad catch_up_window",
            format!(
                "{header}{}",
                job.replace("format =", "catch_up_window = \"soon\"\nformat =")
            ),
            vec!["catch_up_window", "\"soon\" is not a duration"],
        ),
        (
            "zero timeout",
            format!(
                "{header}{}",
                job.replace("format =", "timeout = \"0s\"\nformat =")
            ),
            vec!["jobs[0] (j).timeout"],
        ),
        (
            "path pattern leaving the root",
            header.replace("path = \"{job}/{run_id}.{ext}\"", "path = \"../x\""),
            vec!["destinations.out.path", "leave the destination root"],
        ),
        (
            "path pattern climbing in the middle",
            header.replace(
                "path = \"{job}/{run_id}.{ext}\"",
                "path = \"{job}/../../{run_id}.{ext}\"",
            ),
            vec!["destinations.out.path", "leave the destination root"],
        ),
        (
            "absolute path pattern",
            header.replace(
                "path = \"{job}/{run_id}.{ext}\"",
                "path = \"/etc/{job}.{ext}\"",
            ),
            vec!["destinations.out.path", "leave the destination root"],
        ),
        (
            "unknown placeholder",
            header.replace(
                "path = \"{job}/{run_id}.{ext}\"",
                "path = \"{jobname}.{ext}\"",
            ),
            vec!["destinations.out.path", "{jobname}"],
        ),
        (
            "unknown destination",
            format!(
                "{header}{}",
                job.replace(
                    "destinations = [\"out\"]",
                    "destinations = [\"out\", \"nowhere\"]"
                )
            ),
            vec!["jobs[0] (j).destinations[1]", "\"nowhere\""],
        ),
        (
            "unknown connection",
            format!(
                "{header}{SOURCES}{}",
                job.replace(
                    "{ kind = \"command\", argv = [\"echo\", \"a\"] }",
                    "{ kind = \"sql\", connection = \"nope\", query = \"select 1\" }"
                )
            ),
            vec!["jobs[0] (j).source.connection", "\"nope\""],
        ),
        (
            "unknown source kind",
            format!(
                "{header}{}",
                job.replace("kind = \"command\"", "kind = \"ftp\"")
            ),
            vec!["ftp"],
        ),
        (
            "bad job name",
            format!(
                "{header}{}",
                job.replace("name = \"j\"", "name = \"Daily Sales\"")
            ),
            vec!["name", "\"Daily Sales\""],
        ),
        (
            "duplicate job name",
            format!("{header}{job}{job}"),
            vec!["jobs[1] (j).name", "used by another job"],
        ),
        (
            "bad overlap policy",
            format!(
                "{header}{}",
                job.replace("format =", "overlap = \"sometimes\"\nformat =")
            ),
            vec!["overlap", "sometimes"],
        ),
        (
            "unknown delivery policy",
            format!(
                "{header}{}",
                job.replace("format =", "deliver = \"sometimes\"\nformat =")
            ),
            vec!["jobs[0] (j).deliver", "\"sometimes\"", "on_change"],
        ),
    ];
    for (case, config, needles) in cases {
        expect_config_error(case, &config, &needles);
    }
}

#[test]
fn bad_flags_exit_2_naming_the_flag() {
    let sandbox = Sandbox::new();
    let cases: [(&[&str], &[&str]); 12] = [
        (
            &["next", "0 3 * * *", "--tz", "UTC", "--from", "yesterday"],
            &["--from", "yesterday"],
        ),
        (
            &[
                "next",
                "0 3 * * *",
                "--tz",
                "UTC",
                "--from",
                "2026-03-08 07:00",
            ],
            &["--from", "2026-03-08 07:00"],
        ),
        (
            &["next", "0 3 * * *", "--tz", "Europe/Berln"],
            &["--tz", "Europe/Berln", "Europe/Berlin"],
        ),
        (
            &["next", "0 3 * * *", "--tz", "UTC", "--count", "0"],
            &["--count"],
        ),
        (
            &["next", "0 3 * * *", "--tz", "UTC", "--count", "many"],
            &["--count"],
        ),
        (&["runs", "list", "--limit", "0"], &["--limit"]),
        (
            &["runs", "list", "--status", "broken"],
            &["--status", "broken", "failed", "cancelled"],
        ),
        (
            &["runs", "list", "--since", "yesterday"],
            &["--since", "yesterday", "RFC 3339"],
        ),
        (
            &["runs", "list", "--since", "2026-13-01T00:00:00Z"],
            &["--since", "2026-13-01T00:00:00Z"],
        ),
        (&["audit", "--since", "a week"], &["--since", "a week"]),
        (&["jobs", "pause", "--all", "x"], &["--all"]),
        (
            &["next", "0 2 30 2 *", "--tz", "UTC"],
            &["0 2 30 2 *", "never fires"],
        ),
    ];
    for (args, needles) in cases {
        let out = sandbox.run(args).expect_code(2, &format!("{args:?}"));
        for needle in needles {
            assert!(
                out.stderr.contains(needle),
                "{args:?}: stderr does not name {needle:?}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn unknown_names_on_the_command_line_exit_2() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!("{}{}", config_header(), good_job("known")));
    sandbox.apply_config();
    for args in [
        &["jobs", "pause", "ghost"][..],
        &["jobs", "resume", "ghost"],
        &["jobs", "show", "ghost"],
        &["jobs", "delete", "ghost"],
        &["jobs", "run", "ghost"],
        &["runs", "list", "--job", "ghost"],
    ] {
        let out = sandbox.run(args).expect_code(2, &format!("{args:?}"));
        assert!(
            out.stderr.contains("\"ghost\""),
            "{args:?}: stderr does not name the job: {}",
            out.stderr
        );
    }
    let out = sandbox
        .run(&["runs", "show", "424242"])
        .expect_code(2, "runs show of an unknown id");
    assert!(out.stderr.contains("424242"), "{}", out.stderr);
    for args in [
        &["runs", "logs", "424242"][..],
        &["runs", "retry", "424242"],
        &["runs", "cancel", "424242"],
    ] {
        let out = sandbox.run(args).expect_code(2, &format!("{args:?}"));
        assert!(out.stderr.contains("424242"), "{args:?}: {}", out.stderr);
    }
    // The known job is untouched by all of that.
    assert_eq!(sandbox.job("known")["state"], "active");
}

/// Apply `bad_file` over a store holding the jobs of the config; it must exit
/// 2 naming every needle, and the store must be exactly as before.
fn apply_changes_nothing(bad_file: &str, needles: &[&str]) {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{}{}",
        config_header(),
        good_job("first"),
        good_job("second")
    ));
    sandbox.apply_config();
    sandbox.run(&["jobs", "pause", "second"]).ok("pause");
    let before = sandbox
        .run(&["jobs", "list", "--json"])
        .ok("jobs list")
        .json();
    let export_before = sandbox.run(&["jobs", "export"]).ok("export").stdout;
    assert_eq!(before.as_array().unwrap().len(), 2);

    let file = sandbox.write("bad.toml", bad_file);
    let out = sandbox
        .run(&["apply", file.to_str().unwrap()])
        .expect_code(2, "apply of a file with one bad job");
    let after = sandbox
        .run(&["jobs", "list", "--json"])
        .ok("jobs list")
        .json();
    assert_eq!(before, after, "apply of a bad file changed the store");
    let export_after = sandbox.run(&["jobs", "export"]).ok("export").stdout;
    assert_eq!(
        export_before, export_after,
        "apply of a bad file changed a stored definition"
    );
    // `--prune` with a bad file removes nothing either.
    sandbox
        .run(&["apply", "--prune", file.to_str().unwrap()])
        .expect_code(2, "apply --prune of a file with one bad job");
    let after_prune = sandbox
        .run(&["jobs", "list", "--json"])
        .ok("jobs list")
        .json();
    assert_eq!(
        before, after_prune,
        "apply --prune of a bad file changed the store"
    );
    // Checked last, so a message problem does not hide a store problem.
    for needle in needles {
        assert!(
            out.stderr.contains(needle),
            "apply: stderr does not name {needle:?}\n--- file\n{bad_file}\n--- stderr\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains("bad.toml"),
        "apply: stderr does not name the file: {}",
        out.stderr
    );
    // Without the bad job the same file does change the store, so "nothing
    // changed" above is the all-or-nothing rule at work.
    let good = sandbox.write("good.toml", &good_part());
    let applied = sandbox
        .run(&["apply", good.to_str().unwrap()])
        .ok("apply of the good part");
    assert!(
        applied.stdout.contains("created: third") && applied.stdout.contains("updated: first"),
        "apply of the good part: {}",
        applied.stdout
    );
}

/// The good jobs of the bad files: one edit of a stored job, one new job.
fn good_part() -> String {
    format!(
        "{}{}",
        good_job("first").replace("\"0 3 * * *\"", "\"0 4 * * *\""),
        good_job("third")
    )
}

#[test]
fn apply_with_one_invalid_job_changes_nothing() {
    let file = format!(
        "{}{}",
        good_part(),
        good_job("bad-one").replace("\"0 3 * * *\"", "\"0 24 * * *\"")
    );
    apply_changes_nothing(&file, &["bad-one", "schedule", "cron field 2 (hour)"]);
}

#[test]
fn apply_with_one_unknown_destination_changes_nothing() {
    let file = format!(
        "{}{}",
        good_job("bad-one").replace("[\"out\"]", "[\"elsewhere\"]"),
        good_part()
    );
    apply_changes_nothing(&file, &["bad-one", "destinations[0]", "elsewhere"]);
}

#[test]
fn apply_with_one_unknown_key_changes_nothing_and_names_job_and_key() {
    let file = format!(
        "{}{}",
        good_part(),
        good_job("bad-one").replace("format =", "retrys = 2\nformat =")
    );
    // The job is named too, not only the line: an operator with 200 jobs in
    // a file needs to know which one.
    apply_changes_nothing(&file, &["retrys", "bad-one"]);
}

//! Rules from the command line: bad calendars, `.ics` files and blackouts
//! exit 2 naming the key and store nothing; `cronport next --job` shows the
//! fires with the rules applied and why each moved or was skipped.

mod common;

use common::process::{Sandbox, config_header};

fn job(name: &str, extra: &str) -> String {
    format!(
        "[[jobs]]\nname = \"{name}\"\nschedule = \"0 9 * * *\"\ntimezone = \"America/New_York\"\n\
         source = {{ kind = \"command\", argv = [\"true\"] }}\nformat = {{ kind = \"csv\" }}\n\
         destinations = [\"out\"]\n{extra}\n"
    )
}

const CALENDAR: &str =
    "[calendars.holidays]\nexclude = [\"2026-12-25\"]\nbusiness_days = \"mon-fri\"\n\n";

#[test]
fn bad_rules_in_the_config_exit_2_naming_the_key_and_store_nothing() {
    let header = config_header();
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "unknown calendar",
            format!("{header}{CALENDAR}{}", job("a", "calendar = \"holydays\"")),
            vec![
                "jobs[0] (a).calendar",
                "\"holydays\" is not defined under [calendars]",
                "holidays",
            ],
        ),
        (
            "an .ics that does not parse",
            format!(
                "{header}[calendars.us]\nics = \"bad.ics\"\n\n{}",
                job("a", "calendar = \"us\"")
            ),
            vec!["calendars.us.ics", "does not parse as iCalendar"],
        ),
        (
            "a missing .ics",
            format!(
                "{header}[calendars.us]\nics = \"missing.ics\"\n\n{}",
                job("a", "")
            ),
            vec!["calendars.us.ics", "cannot read"],
        ),
        (
            "a bad exclude",
            format!(
                "{header}[calendars.us]\nexclude = [\"12-25\", \"christmas\"]\n\n{}",
                job("a", "")
            ),
            vec!["calendars.us.exclude[1]", "christmas"],
        ),
        (
            "bad business days",
            format!(
                "{header}[calendars.us]\nbusiness_days = \"mon-fry\"\n\n{}",
                job("a", "")
            ),
            vec!["calendars.us.business_days", "fry"],
        ),
        (
            "a job's blackout",
            format!(
                "{header}{}",
                job("a", "blackout = [\"sat 00:00-06:00\", \"sat 6am-noon\"]")
            ),
            vec![
                "jobs[0] (a).blackout[1]",
                "sat 6am-noon",
                "is not a blackout window",
            ],
        ),
        (
            "the scheduler's blackout",
            format!(
                "{}{}",
                header.replace(
                    "[scheduler]\n",
                    "[scheduler]\nblackout = [\"2026-12-27T00:00/2026-12-24T18:00\"]\n"
                ),
                job("a", "")
            ),
            vec!["scheduler.blackout[0]", "ends before it starts"],
        ),
        (
            "bounds",
            format!(
                "{header}{}",
                job("a", "start_at = \"2026-12-01\"\nend_at = \"next week\"")
            ),
            vec!["jobs[0] (a).end_at", "next week"],
        ),
        (
            "an unknown on_blackout",
            format!("{header}{}", job("a", "on_blackout = \"later\"")),
            vec!["on_blackout", "later"],
        ),
        (
            "an unknown dst key",
            format!(
                "{header}{}",
                job("a", "dst = { gap = \"after\", fold = \"first\" }")
            ),
            vec!["fold"],
        ),
    ];
    for (case, config, needles) in cases {
        let sandbox = Sandbox::new();
        sandbox.write("bad.ics", "this is not a calendar\n");
        sandbox.write_config(&config);
        for args in [&["check"][..], &["jobs", "list"][..]] {
            let out = sandbox.run(args);
            assert_eq!(out.code, Some(2), "{case} ({args:?}): exit\n{}", out.stderr);
            for needle in &needles {
                assert!(
                    out.stderr.contains(needle),
                    "{case}: stderr does not name {needle:?}\n{}",
                    out.stderr
                );
            }
        }
        assert!(
            !sandbox.path().join("store.db").exists(),
            "{case}: a bad config still created the store"
        );
    }
}

#[test]
fn apply_of_a_job_naming_an_unknown_calendar_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{CALENDAR}{}",
        config_header(),
        job("kept", "calendar = \"holidays\"")
    ));
    sandbox.apply_config();
    let before = sandbox.jobs();
    let file = sandbox.write(
        "more.toml",
        &format!(
            "{}{}",
            job("new-one", ""),
            job("bad-one", "calendar = \"nope\"")
        ),
    );
    let out = sandbox
        .run(&["apply", file.to_str().expect("path")])
        .expect_code(2, "apply naming an unknown calendar");
    assert!(
        out.stderr.contains("bad-one") && out.stderr.contains("calendar"),
        "{}",
        out.stderr
    );
    assert_eq!(
        sandbox.jobs(),
        before,
        "apply of a bad file changed the store"
    );
}

#[test]
fn next_shows_a_jobs_fires_with_its_rules_and_why() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{CALENDAR}{}",
        config_header(),
        job(
            "nightly",
            "calendar = \"holidays\"\nblackout = [\"tue 08:00-10:00\"]\non_blackout = \"defer\""
        )
    ));
    let out = sandbox
        .run(&[
            "next",
            "--job",
            "nightly",
            "--from",
            "2026-12-24T00:00:00Z",
            "--count",
            "3",
        ])
        .ok("next --job");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("nightly: At 09:00 every day (America/New_York"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("calendar holidays"), "{}", out.stdout);
    assert!(
        out.stdout.contains("blackout tue 08:00-10:00 (defer)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Thu 2026-12-24 09:00:00 EST  runs"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Fri 2026-12-25 09:00:00 EST  skipped: 2026-12-25 is excluded by calendar holidays (on_excluded = skip)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("Tue 2026-12-29 10:00:00 EST  moved from Tue 2026-12-29 09:00:00 EST: in blackout tue 08:00-10:00: deferred to its end, 2026-12-29 10:00 EST"),
        "{}",
        out.stdout
    );
    let json = sandbox
        .run(&[
            "next",
            "--job",
            "nightly",
            "--from",
            "2026-12-24T00:00:00Z",
            "--count",
            "3",
            "--json",
        ])
        .ok("next --job --json")
        .json();
    let fates: Vec<&str> = json["fires"]
        .as_array()
        .expect("fires")
        .iter()
        .map(|f| f["fate"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        fates,
        ["runs", "skipped", "skipped", "skipped", "runs", "moved"]
    );
    let unknown = sandbox.run(&["next", "--job", "nope"]);
    assert_eq!(unknown.code, Some(2));
    assert!(unknown.stderr.contains("--job"), "{}", unknown.stderr);
}

/// `jobs list` follows the rules too: a job past its `end_at` is `ended`
/// with no next run; a calendar's job has its next run on a business day.
#[test]
fn jobs_list_shows_ended_jobs_and_next_runs_by_the_rules() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{}{CALENDAR}{}{}",
        config_header(),
        job("over", "end_at = \"2026-01-01T00:00:00Z\""),
        job("workdays", "calendar = \"holidays\"")
    ));
    sandbox.apply_config();
    let over = sandbox.job("over");
    assert_eq!(over["state"], "ended", "{over}");
    assert!(over["next_run"].is_null(), "{over}");
    let workdays = sandbox.job("workdays");
    assert_eq!(workdays["state"], "active", "{workdays}");
    let next = chrono::DateTime::parse_from_rfc3339(workdays["next_run"].as_str().unwrap())
        .unwrap()
        .with_timezone(&chrono_tz::America::New_York);
    use chrono::Datelike as _;
    assert!(
        next.weekday().number_from_monday() <= 5,
        "the next run falls on a business day: {next}"
    );
    let text = sandbox.run(&["jobs", "list"]).ok("jobs list");
    let line = text
        .stdout
        .lines()
        .find(|l| l.starts_with("over"))
        .unwrap_or_else(|| panic!("{}", text.stdout));
    assert!(line.contains("ended"), "{line}");
}

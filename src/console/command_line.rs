//! The `:` command line: words in, a typed command out.

use crate::events::Level;
use crate::store::RunId;

/// A command typed after `:`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// `pause NAME`
    Pause(String),
    /// `resume NAME`
    Resume(String),
    /// `pause-all`
    PauseAll,
    /// `resume-all`
    ResumeAll,
    /// `run NAME`: test-run.
    Run(String),
    /// `dry-run NAME`
    DryRun(String),
    /// `cancel RUN`
    Cancel(RunId),
    /// `retry RUN`
    Retry(RunId),
    /// `delete NAME` (asks first)
    Delete(String),
    /// `new`
    New,
    /// `edit NAME`
    Edit(String),
    /// `show NAME`: the job view.
    Show(String),
    /// `run-log RUN` / `show-run RUN`: the run view.
    ShowRun(RunId),
    /// `filter [TEXT]`: the focused panel's filter; none clears it.
    Filter(String),
    /// `history all` / `history NAME`
    History(Option<String>),
    /// `log all` / `log NAME`: the live log's job filter.
    LogJob(Option<String>),
    /// `level debug|info|warn|error`
    Level(Level),
    /// `follow`
    Follow,
    /// `audit all` / `audit NAME`: the audit trail.
    Audit(Option<String>),
    /// `perf` / `performance`: the slowest jobs of the last 7 days.
    Performance,
    /// `help`
    Help,
    /// `quit`
    Quit,
}

/// The commands with their arguments, for the help screen and errors.
pub const USAGE: &[(&str, &str)] = &[
    ("pause NAME / resume NAME", "Pause or resume a job"),
    ("pause-all / resume-all", "Pause or resume every job"),
    ("run NAME", "Test-run a job now"),
    ("dry-run NAME", "Render a job, deliver nothing"),
    (
        "cancel RUN / retry RUN",
        "Cancel a running run / retry a failed one",
    ),
    (
        "new / edit NAME / delete NAME",
        "Create, change or delete a job",
    ),
    ("show NAME / show-run RUN", "Open a job or a run"),
    (
        "filter [TEXT]",
        "Filter the focused panel (failed, running, paused, ok, or text)",
    ),
    ("history all / history NAME", "Runs of all jobs or of one"),
    ("log all / log NAME", "Live log lines of all jobs or of one"),
    ("level debug|info|warn|error", "Lowest live log level shown"),
    ("follow", "Follow new log lines"),
    (
        "audit / audit NAME",
        "Who changed or ran what: all jobs or one",
    ),
    (
        "perf",
        "Slowest jobs of the last 7 days: p50/p95, rows/s, bytes, failures",
    ),
    ("help / quit", "Keys and commands / leave"),
];

/// Parse a command line (without the `:`).
pub fn parse(line: &str) -> Result<Cmd, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some((&verb, args)) = words.split_first() else {
        return Err("type a command, e.g. :pause NAME (:help lists them)".into());
    };
    let name = || match args {
        [name] => Ok(name.to_string()),
        [] => Err(format!(":{verb} needs a job name")),
        _ => Err(format!(":{verb} takes one job name")),
    };
    let run = || match args {
        [id] => id
            .trim_start_matches('#')
            .parse::<RunId>()
            .map_err(|_| format!(":{verb}: {id:?} is not a run id")),
        _ => Err(format!(":{verb} needs a run id")),
    };
    let none = |cmd: Cmd| {
        if args.is_empty() {
            Ok(cmd)
        } else {
            Err(format!(":{verb} takes no arguments"))
        }
    };
    let all_or_name = || match args {
        [] | ["all"] => Ok(None),
        [name] => Ok(Some(name.to_string())),
        _ => Err(format!(":{verb} takes `all` or one job name")),
    };
    match verb {
        "pause" => name().map(Cmd::Pause),
        "resume" => name().map(Cmd::Resume),
        "pause-all" => none(Cmd::PauseAll),
        "resume-all" => none(Cmd::ResumeAll),
        "run" | "test-run" => name().map(Cmd::Run),
        "dry-run" => name().map(Cmd::DryRun),
        "cancel" => run().map(Cmd::Cancel),
        "retry" => run().map(Cmd::Retry),
        "delete" => name().map(Cmd::Delete),
        "new" => none(Cmd::New),
        "edit" => name().map(Cmd::Edit),
        "show" => name().map(Cmd::Show),
        "show-run" => run().map(Cmd::ShowRun),
        "filter" => Ok(Cmd::Filter(args.join(" ").to_lowercase())),
        "history" => all_or_name().map(Cmd::History),
        "log" => all_or_name().map(Cmd::LogJob),
        "level" => match args {
            [level] => parse_level(level).map(Cmd::Level),
            _ => Err(":level needs one of debug, info, warn, error".into()),
        },
        "follow" => none(Cmd::Follow),
        "audit" => all_or_name().map(Cmd::Audit),
        "perf" | "performance" => none(Cmd::Performance),
        "help" | "?" => none(Cmd::Help),
        "quit" | "q" => none(Cmd::Quit),
        other => Err(format!("unknown command :{other} (:help lists them)")),
    }
}

fn parse_level(text: &str) -> Result<Level, String> {
    match text.to_ascii_lowercase().as_str() {
        "debug" => Ok(Level::Debug),
        "info" => Ok(Level::Info),
        "warn" | "warning" => Ok(Level::Warn),
        "error" => Ok(Level::Error),
        other => Err(format!(
            ":level: {other:?} is not one of debug, info, warn, error"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_command() {
        assert_eq!(parse("pause daily"), Ok(Cmd::Pause("daily".into())));
        assert_eq!(parse("  run   daily "), Ok(Cmd::Run("daily".into())));
        assert_eq!(parse("retry #42"), Ok(Cmd::Retry(42)));
        assert_eq!(parse("filter failed"), Ok(Cmd::Filter("failed".into())));
        assert_eq!(parse("filter"), Ok(Cmd::Filter(String::new())));
        assert_eq!(parse("history all"), Ok(Cmd::History(None)));
        assert_eq!(parse("log daily"), Ok(Cmd::LogJob(Some("daily".into()))));
        assert_eq!(parse("level WARN"), Ok(Cmd::Level(Level::Warn)));
        assert_eq!(parse("pause-all"), Ok(Cmd::PauseAll));
        assert_eq!(parse("audit"), Ok(Cmd::Audit(None)));
        assert_eq!(parse("audit daily"), Ok(Cmd::Audit(Some("daily".into()))));
        assert_eq!(parse("perf"), Ok(Cmd::Performance));
        assert_eq!(parse("performance"), Ok(Cmd::Performance));
    }

    #[test]
    fn errors_say_what_is_missing() {
        assert_eq!(parse("pause"), Err(":pause needs a job name".into()));
        assert_eq!(
            parse("cancel x"),
            Err(":cancel: \"x\" is not a run id".into())
        );
        assert!(parse("frobnicate").unwrap_err().contains("unknown command"));
        assert!(parse("").is_err());
    }
}

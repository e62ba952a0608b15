//! `cronport check`: the config is already checked by loading it; here the
//! store, every named source and destination are contacted, and every job
//! (the config's and the store's) is tried as it would run at its next
//! slot (see [`jobs`]). One line per check, `ok` or `FAIL` with the
//! reason, or `--json`; exit 1 if anything failed.

mod jobs;

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Context, Failure};
use crate::cli::CheckArgs;

/// One thing checked: a line of the report, an object of `--json`.
#[derive(Debug, Serialize)]
struct Line {
    /// `config`, `store`, `source`, `destination` or `job`.
    kind: &'static str,
    /// What was checked (a name, a path, a URL).
    name: String,
    /// Whether it passed.
    ok: bool,
    /// What was found, or why it fails.
    detail: String,
    /// For jobs: where the checked definition came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'static str>,
    /// For jobs: the slot whose parameters were used (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    slot: Option<String>,
    /// Passed, but something deserves a look (`warn` in the text).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    warning: bool,
}

impl Line {
    fn new(kind: &'static str, name: impl Into<String>, result: Result<String, String>) -> Line {
        let (ok, detail) = match result {
            Ok(detail) => (true, detail),
            Err(reason) => (false, reason),
        };
        Line {
            kind,
            name: name.into(),
            ok,
            detail,
            origin: None,
            slot: None,
            warning: false,
        }
    }

    /// A line that passes with a warning.
    fn warn(kind: &'static str, name: impl Into<String>, detail: String) -> Line {
        Line {
            warning: true,
            ..Line::new(kind, name, Ok(detail))
        }
    }

    fn text(&self) -> String {
        let status = match (self.ok, self.warning) {
            (false, _) => "FAIL",
            (true, true) => "warn",
            (true, false) => "ok  ",
        };
        let mut text = format!("{status} {}", self.kind);
        if !self.name.is_empty() {
            text.push(' ');
            text.push_str(&self.name);
        }
        if let Some(origin) = self.origin {
            text.push_str(&format!(" [{origin}]"));
        }
        if !self.detail.is_empty() {
            text.push_str(": ");
            text.push_str(&self.detail);
        }
        text
    }
}

/// The origin shown on a destination made in the console.
const MADE_IN_THE_CONSOLE: &str = "made in the console";

/// The whole report of `--json`.
#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    checks: &'a [Line],
}

pub(super) async fn run(ctx: &Context, args: &CheckArgs) -> Result<(), Failure> {
    let config = &ctx.config;
    let mut lines = Vec::new();
    lines.push(match &config.path {
        Some(path) => Line::new(
            "config",
            format!("{} ({} job(s))", path.display(), config.jobs.len()),
            Ok(String::new()),
        ),
        None => Line::new(
            "config",
            "",
            Ok("no config file; using built-in defaults".into()),
        ),
    });
    let store = match ctx.store().await {
        Ok(store) => {
            lines.push(Line::new("store", store.display_url(), Ok(String::new())));
            Some(store)
        }
        Err(e) => {
            lines.push(Line::new("store", "", Err(e.to_string())));
            None
        }
    };
    let pipeline = ctx.pipeline();
    // Destinations made in the console are checked like the config's.
    let mut made = std::collections::BTreeSet::new();
    if let Some(store) = &store {
        match crate::destinations::stored(config, store).await {
            Ok(stored) => {
                for name in &stored.shadowed {
                    lines.push(Line::warn(
                        "destination",
                        name.as_str(),
                        "also made in the console (kept in the store); the config's \
                         [destinations] definition is the one used"
                            .into(),
                    ));
                }
                for (name, why) in &stored.broken {
                    let mut line = Line::new("destination", name.as_str(), Err(why.clone()));
                    line.origin = Some(MADE_IN_THE_CONSOLE);
                    lines.push(line);
                }
                made.extend(stored.names().map(str::to_string));
                crate::destinations::register(pipeline.registry(), &stored);
            }
            Err(e) => lines.push(Line::new(
                "store",
                store.display_url(),
                Err(format!(
                    "cannot list the destinations made in the console: {e}"
                )),
            )),
        }
    }
    for name in config.sources.keys() {
        let result = pipeline.connections().check(name).await;
        lines.push(Line::new(
            "source",
            name.as_str(),
            result.map(|()| String::new()).map_err(|e| e.to_string()),
        ));
    }
    // Each destination is contacted once; the jobs that use it share the result.
    let mut destinations = BTreeMap::new();
    let all = pipeline.destinations();
    let mut named: Vec<_> = all.iter().collect();
    named.sort_by(|a, b| a.0.cmp(b.0));
    for (name, destination) in named {
        let result = destination.check().await.map_err(|e| e.to_string());
        let mut line = Line::new("destination", name.as_str(), result.clone());
        if made.contains(name) {
            line.origin = Some(MADE_IN_THE_CONSOLE);
        }
        lines.push(line);
        destinations.insert(name.clone(), result);
    }
    lines.extend(jobs::check_all(ctx, store.as_ref(), &pipeline, &destinations).await);
    pipeline.connections().close().await;

    let failures = lines.iter().filter(|line| !line.ok).count();
    if args.json {
        let report = Report {
            ok: failures == 0,
            checks: &lines,
        };
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Failed(format!("cannot write the report as JSON: {e}")))?;
        println!("{text}");
    } else {
        for line in &lines {
            println!("{}", line.text());
        }
    }
    if failures > 0 {
        return Err(Failure::Failed(format!("{failures} check(s) failed")));
    }
    Ok(())
}

//! `cronport report [--since 7d] [--json | --markdown]`: per-job
//! performance over a window, slowest jobs first, as an aligned table, JSON
//! or a Markdown table for a weekly email or wiki page.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;

use super::{Context, Failure};
use crate::cli::ReportArgs;
use crate::console::view::text;
use crate::store::{JobPerformance, Performance};

pub(super) async fn run(ctx: &Context, args: &ReportArgs) -> Result<(), Failure> {
    let until = Utc::now();
    if args.since >= until {
        return Err(Failure::BadInput(format!(
            "--since {} is not in the past",
            args.since.to_rfc3339_opts(SecondsFormat::Secs, true)
        )));
    }
    let store = ctx.store().await?;
    let report = store.performance(args.since, until).await?;
    let out = if args.json {
        to_json(&report).to_string()
    } else if args.markdown {
        markdown(&report)
    } else {
        table(&report)
    };
    println!("{}", out.trim_end());
    Ok(())
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The report as `--json` prints it. The field names are part of the
/// interface (scripts read them) and are listed in the README.
pub fn to_json(report: &Performance) -> serde_json::Value {
    let jobs: Vec<serde_json::Value> = report
        .jobs
        .iter()
        .map(|j| {
            json!({
                "job": j.job,
                "runs": j.runs,
                "succeeded": j.succeeded,
                "failures": j.failures,
                "p50_ms": j.p50_ms,
                "p95_ms": j.p95_ms,
                "max_ms": j.max_ms,
                "rows": j.rows,
                "bytes": j.bytes,
                "busy_ms": j.busy_ms,
                "rows_per_sec": j.rows_per_sec(),
            })
        })
        .collect();
    json!({
        "since": instant(report.since),
        "until": instant(report.until),
        "jobs": jobs,
    })
}

/// The cells of one job, as the table and the Markdown show them.
fn cells(j: &JobPerformance) -> [String; 8] {
    let took = |ms: Option<i64>| ms.map_or("-".to_string(), text::duration_ms);
    [
        j.job.clone(),
        j.runs.to_string(),
        j.failures.to_string(),
        took(j.p50_ms),
        took(j.p95_ms),
        j.rows.to_string(),
        text::bytes(j.bytes),
        j.rows_per_sec().map_or("-".to_string(), text::rate),
    ]
}

const HEADERS: [&str; 8] = [
    "JOB", "RUNS", "FAILURES", "P50", "P95", "ROWS", "BYTES", "ROWS/S",
];

fn window(report: &Performance) -> String {
    format!(
        "{} to {} UTC",
        report.since.format("%Y-%m-%d %H:%M"),
        report.until.format("%Y-%m-%d %H:%M")
    )
}

/// Plain text: a title line, then columns sized to their widest cell
/// (the job name left-aligned, numbers right-aligned).
pub fn table(report: &Performance) -> String {
    let mut out = format!("Runs ended {}, slowest (p95) first\n", window(report));
    if report.jobs.is_empty() {
        out.push_str("no runs ended in this window\n");
        return out;
    }
    let rows: Vec<[String; 8]> = report.jobs.iter().map(cells).collect();
    let mut widths = HEADERS.map(|h| h.chars().count());
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| -> String {
        let parts: Vec<String> = cells
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, w))| {
                if i == 0 {
                    format!("{cell:<w$}")
                } else {
                    format!("{cell:>w$}")
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    out.push_str(&line(&HEADERS.map(String::from)));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

/// A Markdown heading and table (GitHub-flavoured: numbers right-aligned).
pub fn markdown(report: &Performance) -> String {
    let mut out = format!("## cronport performance, {}\n\n", window(report));
    if report.jobs.is_empty() {
        out.push_str("No runs ended in this window.\n");
        return out;
    }
    out.push_str("| Job | Runs | Failures | p50 | p95 | Rows | Bytes | Rows/s |\n");
    out.push_str("|:---|---:|---:|---:|---:|---:|---:|---:|\n");
    for j in &report.jobs {
        let mut row = cells(j);
        // A slug cannot hold `|`, but a table cell must never split.
        row[0] = format!("`{}`", row[0].replace('|', "\\|"));
        out.push_str(&format!("| {} |\n", row.join(" | ")));
    }
    out
}

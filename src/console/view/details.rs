//! The job view (definition, next fires in its zone and in UTC, success
//! rate, duration percentiles and sparkline), the run view (every field,
//! outputs, attempts, log lines) and the dry run's window.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Sparkline, Wrap};

use super::{Theme, text};
use crate::console::model::{JobDetails, Model, RunDetails, Screen};
use crate::events::Level;
use crate::store::{RunRecord, RunStatus};

/// Fires listed in the job view.
pub const NEXT_FIRES: usize = 10;
/// Durations in the job view's sparkline.
pub const SPARK_RUNS: usize = 30;

fn frame_block<'a>(theme: Theme, title: String, note: String) -> Block<'a> {
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Span::styled(format!(" {title} "), theme.strong()));
    if !note.is_empty() {
        block = block.title(Line::styled(format!(" {note} "), theme.muted()).right_aligned());
    }
    block
}

fn loading(theme: Theme, frame: &mut Frame, area: Rect, block: Block) {
    frame.render_widget(
        Paragraph::new(Span::styled("loading…", theme.muted())).block(block),
        area,
    );
}

/// Success rate and duration percentiles over `runs`.
pub struct RunStats {
    /// Runs that ended succeeded, failed or interrupted.
    pub finished: usize,
    /// Of those, succeeded.
    pub succeeded: usize,
    /// Median duration.
    pub p50: Option<i64>,
    /// 95th percentile duration.
    pub p95: Option<i64>,
}

impl RunStats {
    /// Over runs that ran (skipped entries and cancellations do not count
    /// for or against the success rate).
    pub fn of(runs: &[RunRecord]) -> RunStats {
        let finished = runs
            .iter()
            .filter(|r| {
                matches!(
                    r.status,
                    RunStatus::Succeeded | RunStatus::Failed | RunStatus::Interrupted
                )
            })
            .count();
        let succeeded = runs
            .iter()
            .filter(|r| r.status == RunStatus::Succeeded)
            .count();
        let mut durations: Vec<i64> = runs.iter().filter_map(RunRecord::duration_ms).collect();
        durations.sort_unstable();
        let pick = |q: f64| -> Option<i64> {
            if durations.is_empty() {
                return None;
            }
            // Nearest rank.
            let rank = ((q * durations.len() as f64).ceil() as usize).clamp(1, durations.len());
            Some(durations[rank - 1])
        };
        RunStats {
            finished,
            succeeded,
            p50: pick(0.50),
            p95: pick(0.95),
        }
    }
}

pub(super) fn job(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    let Screen::Job {
        name,
        details,
        scroll,
    } = &model.screen
    else {
        return;
    };
    let state = match model.job(name) {
        Some(job) if job.paused => "paused",
        Some(job) if job.ended => "ended",
        Some(_) => "active",
        None => "deleted",
    };
    let block = frame_block(theme, format!("Job {name}"), format!("{state} · Esc back"));
    let Some(details) = details else {
        return loading(theme, frame, area, block);
    };
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [summary, spark, rest] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(2),
        Constraint::Fill(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(job_summary(model, theme, details)), summary);
    sparkline(theme, frame, spark, &details.runs);
    let [fires, definition] =
        Layout::horizontal([Constraint::Length(46), Constraint::Fill(1)]).areas(rest);
    next_fires(model, theme, frame, fires, details);
    let toml = crate::job::decode_stored(&details.job.name, &details.job.definition)
        .ok()
        .and_then(|spec| toml::to_string(&spec).ok())
        .unwrap_or_else(|| details.job.definition.to_string());
    frame.render_widget(
        Paragraph::new(toml)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.muted())
                    .title(" Definition "),
            )
            .scroll((*scroll, 0)),
        definition,
    );
}

fn job_summary<'a>(model: &'a Model, theme: Theme, details: &'a JobDetails) -> Vec<Line<'a>> {
    // The panels' row has fresher counters than the view's load.
    let job = model.job(&details.job.name).unwrap_or(&details.job);
    let stats = RunStats::of(&details.runs);
    let label = |s: &'static str| Span::styled(format!("{s:<9} "), theme.strong());
    let rate = match (stats.succeeded * 100).checked_div(stats.finished) {
        None => "no finished runs yet".to_string(),
        Some(percent) => format!("success {percent}% of the last {}", stats.finished),
    };
    let pct = |d: Option<i64>| d.map_or("-".to_string(), text::duration_ms);
    let next = match (job.paused, job.next_run) {
        (true, _) => "paused".to_string(),
        (false, _) if job.ended => "ended (past end_at)".to_string(),
        (false, Some(at)) => format!(
            "{} ({})",
            text::until(model.now, at),
            text::full(at, model.zone)
        ),
        (false, None) => "never".to_string(),
    };
    let last = match job.stats.as_ref().and_then(|s| s.last_run.as_ref()) {
        Some(last) => Span::styled(
            format!(
                "{} {}",
                text::status(last.status),
                text::ago(model.now, last.finished_at.unwrap_or(last.scheduled_for))
            ),
            theme.status(last.status),
        ),
        None => Span::styled("never ran", theme.muted()),
    };
    vec![
        Line::from(vec![
            label("schedule"),
            Span::raw(format!(
                "{} = {} · {} · {}",
                job.schedule, job.cron, job.description, job.timezone
            )),
        ]),
        Line::from(vec![
            label("next"),
            Span::raw(next),
            collides(model, theme, &job.name),
        ]),
        Line::from(vec![
            label("runs"),
            Span::raw(format!("{} recorded, {} failed", job.runs(), job.errors())),
        ]),
        Line::from(vec![
            label("recent"),
            Span::raw(format!(
                "{rate} · p50 {} · p95 {}",
                pct(stats.p50),
                pct(stats.p95)
            )),
        ]),
        Line::from(vec![label("last"), last]),
    ]
}

/// A note when the job is due at an instant with more runs than the
/// scheduler starts at once, suggesting jitter to spread them.
fn collides(model: &Model, theme: Theme, job: &str) -> Span<'static> {
    let strip = &model.data.strip;
    let mut collisions = strip.collisions_of(job);
    let Some(first) = collisions.next() else {
        return Span::raw("");
    };
    let more = collisions.count();
    let also = if more > 0 {
        format!(" (and {more} more time(s))")
    } else {
        String::new()
    };
    Span::styled(
        format!(
            " · due at {} with {} other run(s), more than max_concurrent_runs = {}{also}: \
             jitter = \"5m\" would spread them",
            text::clock(model.now, first.at, model.zone),
            first.runs - 1,
            strip.limit
        ),
        theme.warn(),
    )
}

fn sparkline(theme: Theme, frame: &mut Frame, area: Rect, runs: &[RunRecord]) {
    let mut durations: Vec<u64> = runs
        .iter()
        .filter_map(RunRecord::duration_ms)
        .take(SPARK_RUNS)
        .map(|ms| ms.max(0) as u64)
        .collect();
    durations.reverse();
    let [label, bars] =
        Layout::horizontal([Constraint::Length(10), Constraint::Fill(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(vec![
            Line::styled("durations", theme.strong()),
            Line::styled(format!("last {}", durations.len()), theme.muted()),
        ]),
        label,
    );
    frame.render_widget(
        Sparkline::default().data(&durations).style(theme.busy()),
        bars,
    );
}

fn next_fires(model: &Model, theme: Theme, frame: &mut Frame, area: Rect, details: &JobDetails) {
    let job = &details.job;
    let lines: Vec<Line> = match (&job.checked, &job.parsed) {
        // With its rules: each fire says when it runs, and why one moved
        // or is skipped.
        (Some(checked), _) => {
            let zone = checked.schedule.timezone();
            checked
                .fires(model.now)
                .take(NEXT_FIRES)
                .map(|fire| {
                    let shown = crate::job::describe_fire(&fire, zone, "%a %m-%d %H:%M:%S %Z");
                    let style = match fire.fate {
                        crate::job::Fate::Runs => ratatui::style::Style::default(),
                        crate::job::Fate::Moved(_) => theme.warn(),
                        crate::job::Fate::Skipped(_) => theme.muted(),
                    };
                    Line::from(vec![
                        Span::styled(shown, style),
                        Span::styled(
                            fire.at.format("  %m-%d %H:%M:%SZ").to_string(),
                            theme.muted(),
                        ),
                    ])
                })
                .collect()
        }
        (None, Some(schedule)) => {
            let zone = schedule.timezone();
            schedule
                .fires_after(model.now)
                .take(NEXT_FIRES)
                .map(|at| {
                    Line::from(vec![
                        Span::raw(
                            at.with_timezone(&zone)
                                .format("%a %m-%d %H:%M:%S %Z")
                                .to_string(),
                        ),
                        Span::styled(at.format("  %m-%d %H:%M:%SZ").to_string(), theme.muted()),
                    ])
                })
                .collect()
        }
        (None, None) => vec![Line::styled(job.description.clone(), theme.bad())],
    };
    let title = format!(
        " Next {NEXT_FIRES}: {} · UTC ",
        text::zone_short(&job.timezone)
    );
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.muted())
                .title(title),
        ),
        area,
    );
}

pub(super) fn run(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    let Screen::Run {
        id,
        details,
        scroll,
    } = &model.screen
    else {
        return;
    };
    let Some(details) = details else {
        let block = frame_block(theme, format!("Run {id}"), "Esc back".into());
        return loading(theme, frame, area, block);
    };
    let run = &details.run;
    let state = match model.retry_due(run) {
        Some(at) => text::retry_at(at, model.zone),
        None => run.status.to_string(),
    };
    let block = frame_block(
        theme,
        format!("Run {} · {} · {state}", run.id, run.job_name),
        "Esc back".into(),
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let fields = run_fields(model, theme, details);
    // Long errors wrap: count the rows the fields take at this width.
    let width = usize::from(inner.width.max(1));
    let rows: usize = fields
        .iter()
        .map(|l| l.width().max(1).div_ceil(width))
        .sum();
    let height = (rows as u16).min(inner.height / 2);
    let [top, log] =
        Layout::vertical([Constraint::Length(height), Constraint::Fill(1)]).areas(inner);
    frame.render_widget(Paragraph::new(fields).wrap(Wrap { trim: false }), top);
    let lines: Vec<Line> = details
        .lines
        .iter()
        .map(|line| {
            let level = level_of(&line.level);
            Line::from(vec![
                Span::styled(text::clock(model.now, line.ts, model.zone), theme.muted()),
                Span::raw(" "),
                Span::styled(
                    format!("{:5}", level.as_str().to_ascii_uppercase()),
                    theme.level(level),
                ),
                Span::raw(" "),
                Span::raw(line.message.as_str()),
            ])
        })
        .collect();
    let count = lines.len();
    frame.render_widget(
        Paragraph::new(lines)
            .block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(theme.muted())
                    .title(format!(" Log: {count} lines (j/k scroll) ")),
            )
            .scroll((*scroll, 0)),
        log,
    );
}

fn run_fields<'a>(model: &Model, theme: Theme, details: &'a RunDetails) -> Vec<Line<'a>> {
    let run = &details.run;
    let label = |s: &'static str| Span::styled(format!("{s:<9} "), theme.strong());
    let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_string(), |t| text::full(t, model.zone))
    };
    let mut lines = vec![
        Line::from(vec![
            label("status"),
            match model.retry_due(run) {
                Some(at) => Span::styled(text::retry_at(at, model.zone), theme.warn()),
                None => Span::styled(run.status.as_str(), theme.status(run.status)),
            },
            Span::raw(format!(
                " · trigger {} · attempt {}{}",
                run.trigger,
                run.attempt,
                run.retry_of
                    .map_or(String::new(), |r| format!(" · retry of run {r}"))
            )),
        ]),
        Line::from(vec![
            label("scheduled"),
            Span::raw(at(Some(run.scheduled_for))),
        ]),
        Line::from(vec![
            label("ran"),
            Span::raw(format!(
                "{} → {} ({})",
                at(run.started_at),
                run.finished_at
                    .map_or("-".to_string(), |t| text::clock(model.now, t, model.zone)),
                run.duration_ms().map_or("-".to_string(), text::duration_ms)
            )),
        ]),
        Line::from(vec![
            label("output"),
            Span::raw(format!(
                "{} rows · {}{} · instance {}",
                run.rows.map_or("-".into(), |r| r.to_string()),
                run.bytes.map_or("-".into(), text::bytes),
                rate(run),
                run.instance_id.as_deref().unwrap_or("-")
            )),
        ]),
    ];
    match (&run.error, run.status) {
        (Some(reason), RunStatus::Held) => {
            lines.push(Line::from(vec![
                label("held"),
                Span::styled(reason.as_str(), theme.warn()),
            ]));
            lines.push(Line::from(vec![
                label("until"),
                Span::raw(format!(
                    "{}: A releases it (delivers), X discards it",
                    run.held_until
                        .map_or("-".to_string(), |t| text::clock(model.now, t, model.zone))
                )),
            ]));
        }
        (Some(reason), RunStatus::Skipped | RunStatus::Discarded) if run.failed_check.is_some() => {
            lines.push(Line::from(vec![
                label("check"),
                Span::styled(reason.as_str(), theme.warn()),
            ]));
        }
        (Some(error), _) => lines.push(Line::from(vec![
            label("error"),
            Span::styled(error.as_str(), theme.bad()),
        ])),
        (None, _) => {}
    }
    if run.unchanged {
        lines.push(Line::from(vec![
            label("unchanged"),
            Span::raw(format!(
                "same content as the last delivered run ({}), nothing sent",
                run.content_hash
                    .as_deref()
                    .map_or("?", crate::export::pipeline::short_hash)
            )),
        ]));
    }
    if details.deliveries.is_empty() {
        for output in &run.outputs {
            lines.push(Line::from(vec![
                label("delivered"),
                Span::raw(output.as_str()),
            ]));
        }
    }
    for delivery in &details.deliveries {
        let style = match delivery.status.as_str() {
            "delivered" => theme.status(RunStatus::Succeeded),
            "failed" => theme.bad(),
            _ => theme.muted(),
        };
        let detail = delivery
            .location
            .as_deref()
            .or(delivery.error.as_deref())
            .unwrap_or("");
        lines.push(Line::from(vec![
            label("to"),
            Span::raw(format!("{} ", delivery.destination)),
            Span::styled(delivery.status.as_str(), style),
            Span::raw(format!(" {detail}")),
        ]));
    }
    for attempt in &details.attempts {
        let took = attempt.finished_at.map_or("-".to_string(), |end| {
            text::duration_ms((end - attempt.started_at).num_milliseconds())
        });
        lines.push(Line::from(vec![
            label("attempt"),
            Span::raw(format!(
                "#{} {} ",
                attempt.attempt,
                text::clock(model.now, attempt.started_at, model.zone)
            )),
            Span::styled(attempt.status.as_str(), theme.status(attempt.status)),
            // The run's error is shown above; an attempt's only when it differs.
            Span::raw(format!(
                " {took} {}",
                attempt
                    .error
                    .as_deref()
                    .filter(|e| Some(*e) != run.error.as_deref())
                    .unwrap_or("")
            )),
        ]));
    }
    lines
}

/// " · 322 rows/s" for a run that succeeded with rows in measurable time:
/// its rows over its run time, as the Performance window counts them.
fn rate(run: &RunRecord) -> String {
    match (run.status, run.rows, run.duration_ms()) {
        (RunStatus::Succeeded, Some(rows), Some(ms)) if ms > 0 => {
            format!(" · {} rows/s", text::rate(rows as f64 * 1000.0 / ms as f64))
        }
        _ => String::new(),
    }
}

/// A stored level name as a [`Level`].
fn level_of(text: &str) -> Level {
    match text.to_ascii_lowercase().as_str() {
        "error" => Level::Error,
        "warn" | "warning" => Level::Warn,
        "info" => Level::Info,
        _ => Level::Debug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(status: RunStatus, ms: Option<i64>) -> RunRecord {
        let start = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        RunRecord {
            id: 1,
            job_id: 1,
            job_name: "j".into(),
            trigger: crate::store::Trigger::Schedule,
            status,
            slot: None,
            scheduled_for: start,
            queued_at: start,
            started_at: ms.map(|_| start),
            finished_at: ms.map(|ms| start + chrono::Duration::milliseconds(ms)),
            attempt: 1,
            rows: None,
            bytes: None,
            outputs: Vec::new(),
            error: None,
            instance_id: None,
            retry_of: None,
            content_hash: None,
            unchanged: false,
            schema: None,
            failed_check: None,
            held_until: None,
            retry_at: None,
        }
    }

    #[test]
    fn success_rate_and_percentiles() {
        let mut runs: Vec<RunRecord> = (1..=19)
            .map(|i| run(RunStatus::Succeeded, Some(i * 100)))
            .collect();
        runs.push(run(RunStatus::Failed, Some(10_000)));
        runs.push(run(RunStatus::Skipped, None));
        let stats = RunStats::of(&runs);
        assert_eq!((stats.finished, stats.succeeded), (20, 19));
        assert_eq!(stats.p50, Some(1_000));
        assert_eq!(stats.p95, Some(1_900));
    }
}

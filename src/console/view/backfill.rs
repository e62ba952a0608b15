//! The backfill window: the range, the plan, the progress.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::{Theme, centered, popup};
use crate::console::backfill::{BackfillView, Counts, Stage};

/// Width of the progress bar.
const BAR: usize = 30;

pub(super) fn render(view: &BackfillView, theme: Theme, frame: &mut Frame, body: Rect) {
    let local = |t: DateTime<Utc>| {
        t.with_timezone(&view.zone)
            .format("%a %Y-%m-%d %H:%M %Z")
            .to_string()
    };
    let field = |label: &str, value: &str, focused: bool| {
        let style = if focused && view.stage == Stage::Editing {
            theme.selected()
        } else {
            Style::default()
        };
        Line::from(vec![
            Span::styled(format!("{label:>5} "), theme.strong()),
            Span::styled(format!("{value:<24}"), style),
        ])
    };
    let mut lines = vec![
        Line::styled(
            format!(
                "Run {} for the past slots of a range (trigger backfill), oldest first.",
                view.job
            ),
            theme.muted(),
        ),
        Line::styled(
            format!(
                "Times are RFC 3339, a date, or a local time in {} (2026-12-01T06:00).",
                view.zone
            ),
            theme.muted(),
        ),
        Line::from(""),
        field("from", view.from.value(), !view.on_to),
        field("to", view.to.value(), view.on_to),
        Line::from(""),
    ];
    if let Some(problem) = &view.problem {
        lines.push(Line::styled(problem.clone(), theme.bad()));
    }
    let mut style = theme.border(true);
    match &view.stage {
        Stage::Editing => {
            if view.problem.is_none()
                && let Ok((from, to)) = view.range()
            {
                lines.push(Line::from(format!("{} to {}", local(from), local(to))));
            }
            lines.push(keys(
                theme,
                &[("Enter", "plan"), ("Tab", "next field"), ("Esc", "close")],
            ));
        }
        Stage::Planning => lines.push(Line::styled("reading the store…", theme.muted())),
        Stage::Planned(plan) => {
            lines.push(Line::from(vec![
                Span::styled(format!("{} to run", plan.to_run.len()), theme.strong()),
                Span::raw(format!(
                    " of {} slot(s); {} already succeeded and {} queued or running are left alone",
                    plan.slots, plan.succeeded, plan.active
                )),
            ]));
            if plan.skipped_by_rules > 0 {
                lines.push(Line::from(format!(
                    "{} more slot(s) the job's calendar, blackouts or bounds skip",
                    plan.skipped_by_rules
                )));
            }
            if let (Some(first), Some(last)) = (plan.to_run.first(), plan.to_run.last()) {
                lines.push(Line::from(format!(
                    "first {}, last {}",
                    local(*first),
                    local(*last)
                )));
            }
            lines.push(Line::from(""));
            if plan.to_run.is_empty() {
                lines.push(keys(
                    theme,
                    &[("Enter", "close"), ("Esc", "change the range")],
                ));
            } else {
                lines.push(keys(
                    theme,
                    &[("Enter", "run them"), ("Esc", "change the range")],
                ));
            }
        }
        Stage::Running { counts, stopping } => {
            lines.push(bar(theme, counts));
            if *stopping {
                lines.push(Line::styled(
                    "stopping: runs already going finish, the rest are withdrawn",
                    theme.warn(),
                ));
            } else {
                lines.push(keys(
                    theme,
                    &[("c", "stop the rest"), ("Esc", "hide (the runs go on)")],
                ));
            }
        }
        Stage::Done {
            counts,
            stopped,
            error,
        } => {
            lines.push(bar(theme, counts));
            let (text, line_style) = match (error, stopped) {
                (Some(e), _) => (format!("failed: {e}"), theme.bad()),
                (None, true) => ("stopped".to_string(), theme.warn()),
                (None, false) if counts.failed > 0 => {
                    ("done, with failures".to_string(), theme.bad())
                }
                (None, false) => ("done".to_string(), theme.good()),
            };
            if error.is_some() || counts.failed > 0 {
                style = theme.bad();
            }
            lines.push(Line::styled(text, line_style));
            lines.push(keys(theme, &[("Enter", "close")]));
        }
    }
    let height = (lines.len() as u16 + 2).min(body.height);
    popup(
        frame,
        centered(body, 90, height),
        &format!("Backfill {}", view.job),
        lines,
        style,
    );
}

fn bar(theme: Theme, counts: &Counts) -> Line<'static> {
    let done = counts.done();
    let filled = (done * BAR)
        .checked_div(counts.total)
        .unwrap_or(BAR)
        .min(BAR);
    Line::from(vec![
        Span::styled("#".repeat(filled), theme.good()),
        Span::styled(".".repeat(BAR - filled), theme.muted()),
        Span::raw(format!(
            " {done}/{}: {} succeeded, {} failed, {} left alone, {} withdrawn",
            counts.total, counts.succeeded, counts.failed, counts.left_alone, counts.withdrawn
        )),
    ])
}

fn keys(theme: Theme, pairs: &[(&str, &str)]) -> Line<'static> {
    let mut spans = Vec::new();
    for (key, what) in pairs {
        spans.push(Span::styled((*key).to_string(), theme.strong()));
        spans.push(Span::raw(format!(" {what}   ")));
    }
    Line::from(spans)
}

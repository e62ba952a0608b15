//! The audit trail's window (`:audit`, `:audit NAME`): who changed or ran
//! what, when, how and through which instance, newest first.

use chrono_tz::Tz;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph};

use super::{Theme, centered};
use crate::console::model::AuditView;
use crate::store::AuditEntry;

/// One entry as two lines: time, who (way), action, job and run; then what
/// came of it and the instance that carried it out, indented.
fn lines(entry: &AuditEntry, zone: Tz, theme: Theme) -> [Line<'static>; 2] {
    let e = &entry.entry;
    let what = match (&e.job, e.run_id) {
        (Some(job), Some(run)) => format!("{job} #{run}"),
        (Some(job), None) => job.clone(),
        (None, Some(run)) => format!("#{run}"),
        (None, None) => "all jobs".into(),
    };
    let outcome_style = if e.outcome.starts_with("not done") {
        theme.bad()
    } else {
        theme.muted()
    };
    [
        Line::from(vec![
            Span::raw(format!(
                "{} ",
                e.at.with_timezone(&zone).format("%m-%d %H:%M:%S")
            )),
            Span::styled(format!("{:<10} ", e.action.as_str()), theme.strong()),
            Span::raw(format!("{what:<24} ")),
            Span::styled(
                format!("{}@{} ({})", e.actor_user, e.actor_host, e.way),
                theme.muted(),
            ),
        ]),
        Line::from(vec![
            Span::raw("  "),
            Span::styled(e.outcome.clone(), outcome_style),
            Span::styled(format!(" [{}]", e.instance), theme.muted()),
        ]),
    ]
}

pub(super) fn render(view: &AuditView, zone: Tz, theme: Theme, frame: &mut Frame, body: Rect) {
    let lines: Vec<Line> = match &view.entries {
        None => vec![Line::styled("reading the audit trail…", theme.muted())],
        Some(Err(error)) => vec![Line::styled(error.clone(), theme.bad())],
        Some(Ok(entries)) if entries.is_empty() => {
            vec![Line::styled("nothing recorded yet", theme.muted())]
        }
        Some(Ok(entries)) => entries.iter().flat_map(|e| lines(e, zone, theme)).collect(),
    };
    let title = match &view.job {
        Some(job) => format!(" Audit of {job} (j/k scroll, Esc closes) "),
        None => " Audit: every job (j/k scroll, Esc closes) ".to_string(),
    };
    let area = centered(body, 160, body.height);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(theme.border(true))
        .title(title);
    // Lines are cut, not wrapped, so each entry keeps its two rows and
    // scrolling moves by rows the view can count.
    frame.render_widget(
        Paragraph::new(lines).block(block).scroll((view.scroll, 0)),
        area,
    );
}

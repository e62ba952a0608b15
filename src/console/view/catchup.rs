//! The catch-up plans' window: per job, how many slots were missed and
//! their span, and what Enter would approve.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Theme, centered, popup, text};
use crate::console::model::{CatchUpView, Model};

/// Draw the window over `body`.
pub fn render(model: &Model, view: &CatchUpView, theme: Theme, frame: &mut Frame, body: Rect) {
    let plans = &model.data.catchup;
    let mut lines = vec![
        Line::from("Slots missed while cronport was not running (catch_up = ask):"),
        Line::from(""),
    ];
    let name_width = plans
        .iter()
        .map(|p| p.job_name.chars().count())
        .max()
        .unwrap_or(0)
        .min(24);
    // The rows around the selected plan that fit; the rest scroll.
    let room = usize::from(body.height.saturating_sub(10)).max(1);
    let first = view.selected.saturating_sub(room.saturating_sub(1));
    for (i, plan) in plans.iter().enumerate().skip(first).take(room) {
        let plural = if plan.count == 1 { "" } else { "s" };
        let span = if plan.first == plan.last {
            text::clock(model.now, plan.first, model.zone)
        } else {
            format!(
                "{} to {}",
                text::clock(model.now, plan.first, model.zone),
                text::clock(model.now, plan.last, model.zone)
            )
        };
        let name: String = plan.job_name.chars().take(name_width).collect();
        let row = format!(
            "{} plan {:<4} {name:<name_width$}  {:>5} slot{plural:<1}  {span}",
            if i == view.selected { "▶" } else { " " },
            plan.id,
            plan.count,
        );
        let style = if i == view.selected {
            theme.highlight(true)
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::from(Span::styled(row, style)));
    }
    lines.push(Line::from(""));
    if let Some(plan) = plans.get(view.selected) {
        let chosen = match view.newest {
            Some(n) if n < plan.count => format!("the newest {n} of {} slots", plan.count),
            _ if plan.count == 1 => "its slot".to_string(),
            _ => format!("all {} slots", plan.count),
        };
        let pending = if view.deciding == Some(plan.id) {
            "  (deciding…)"
        } else {
            ""
        };
        lines.push(Line::from(vec![
            Span::styled("Enter", theme.strong()),
            Span::raw(format!(" runs {chosen} of plan {}{pending}", plan.id)),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("-/+", theme.strong()),
        Span::raw(" fewer/more  "),
        Span::styled("a", theme.strong()),
        Span::raw(" all  "),
        Span::styled("l", theme.strong()),
        Span::raw(" newest only  "),
        Span::styled("d", theme.strong()),
        Span::raw(" decline  "),
        Span::styled("Esc", theme.strong()),
        Span::raw(" later"),
    ]));
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    popup(
        frame,
        centered(body, 78, height),
        "Catch-up plans awaiting approval",
        lines,
        theme.warn(),
    );
}

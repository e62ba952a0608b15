//! Drawing the form: pure, from the form's state and the clock. The field
//! list is built as whole lines (errors and the preview already wrapped) and
//! scrolled so the focused field and what belongs to it stay in view.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use tui_input::Input;

use super::JobForm;
use super::fields::{Field, Row};
use super::keys::{FOOTER_KEYS, KEYS};
use super::multiline_view::multiline_value;
use super::placeholder::placeholder;
use super::preview::SchedulePreview;
use super::style::Styles;
use super::text::{caret_line, visible_slice, wrap};

/// Columns for the focus marker and the label ("Catch-up window" is the longest).
pub(super) const LABEL_WIDTH: usize = 18;

/// Lines of a multi-line field in view at once; more scroll.
pub(super) const MULTILINE_ROWS: usize = 5;

/// Lines built for the field list, with where the cursor goes.
struct Body<'a> {
    lines: Vec<Line<'a>>,
    focus: (usize, usize),
    cursor: Option<(usize, usize)>,
}

pub(super) fn render(form: &JobForm, frame: &mut Frame, area: Rect, now: DateTime<Utc>) {
    let styles = Styles::new(form.color);
    let inner = Block::bordered().inner(area);
    let [body_area, footer_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(2)]).areas(inner);
    // One column spare on the right, so wrapped text never touches the border.
    let value_width = (body_area.width as usize)
        .saturating_sub(LABEL_WIDTH + 1)
        .max(1);
    let body = build_body(form, &styles, value_width, now);

    let height = body_area.height as usize;
    let total = body.lines.len();
    let (start, end) = body.focus;
    let offset = end.saturating_sub(height).min(start);

    let title = if form.is_edit() {
        " Edit job "
    } else {
        " New job "
    };
    let mut block = Block::bordered()
        .title(Line::styled(title, styles.label_focused))
        .border_style(styles.border);
    let more = match (offset > 0, offset + height < total) {
        (true, true) => Some(" ▲▼ more "),
        (true, false) => Some(" ▲ more "),
        (false, true) => Some(" ▼ more "),
        (false, false) => None,
    };
    if let Some(more) = more {
        block = block.title_bottom(Line::styled(more, styles.muted).right_aligned());
    }
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let visible: Vec<Line> = body.lines.into_iter().skip(offset).take(height).collect();
    frame.render_widget(Paragraph::new(visible), body_area);
    if let Some((line, column)) = body.cursor
        && (offset..offset + height).contains(&line)
    {
        frame.set_cursor_position((
            body_area.x + column.min((body_area.width as usize).saturating_sub(1)) as u16,
            body_area.y + (line - offset) as u16,
        ));
    }
    frame.render_widget(Paragraph::new(footer(form, &styles)), footer_area);
    if let Some(draft) = form.draft() {
        super::new_destination_view::render(draft, frame, area, &styles);
    }
}

fn build_body<'a>(form: &'a JobForm, s: &Styles, width: usize, now: DateTime<Utc>) -> Body<'a> {
    let mut body = Body {
        lines: Vec::new(),
        focus: (0, 0),
        cursor: None,
    };
    let rows = form.values.rows();
    for (i, &row) in rows.iter().enumerate() {
        let start = body.lines.len();
        let focused = row == form.focus;
        let marker = if focused { "› " } else { "  " };
        let label = match row {
            Row::Field(f) => f.label(),
            Row::Destination(0) => Field::Destinations.label(),
            Row::Destination(_) => "",
            Row::NewDestination if form.values.destination_options.is_empty() => {
                Field::Destinations.label()
            }
            Row::NewDestination => "",
            Row::Check(f, 0) => f.label(),
            Row::Check(_, _) => "",
            Row::Save => "",
        };
        let label_style = if focused { s.label_focused } else { s.label };
        let mut spans = vec![Span::styled(
            format!("{marker}{label:<w$}", w = LABEL_WIDTH - 2),
            label_style,
        )];
        let mut below = Vec::new();
        match row {
            Row::Field(f) => {
                if let Some(buffer) = form.values.multiline(f) {
                    let shown = multiline_value(form, f, buffer, focused, width, s);
                    spans.extend(shown.first);
                    below = shown.more;
                    if focused {
                        let (line, column) = shown.cursor;
                        body.cursor = Some((start + line, LABEL_WIDTH + column));
                    }
                } else if let Some(input) = form.values.input(f) {
                    let (value, column) = text_value(form, f, input, focused, width, s);
                    spans.extend(value);
                    if focused {
                        body.cursor = Some((start, LABEL_WIDTH + column));
                    }
                } else if f == Field::NotifyTo {
                    spans.push(Span::styled(
                        "(no webhook, email, slack or teams destination in the config)",
                        s.muted,
                    ));
                } else {
                    spans.extend(choice_value(form, f, focused, width, s));
                }
            }
            Row::Destination(index) => spans.extend(destination_value(form, index, s)),
            Row::NewDestination => {
                let style = if focused { s.button_focused } else { s.muted };
                spans.push(Span::styled("+ new local folder", style));
                if focused {
                    spans.push(Span::styled("  Enter opens it", s.muted));
                }
            }
            Row::Check(f, index) => spans.extend(check_value(form, f, index, s)),
            Row::Save => {
                let style = if focused { s.button_focused } else { s.button };
                spans.push(Span::styled("[ Save ]", style));
                spans.push(Span::styled("  Ctrl-S saves from any field", s.muted));
            }
        }
        body.lines.push(Line::from(spans));
        body.lines.extend(below);

        match row {
            Row::Field(Field::Schedule) => schedule_lines(form, &mut body.lines, width, now, s),
            Row::Field(Field::Timezone) => {
                // While names are offered they are the help; the error waits.
                if !completion_lines(form, &mut body.lines, s) {
                    problem_lines(form, Some(Field::Timezone), &mut body.lines, width, s);
                }
            }
            Row::Field(f) => problem_lines(form, Some(f), &mut body.lines, width, s),
            Row::Destination(_) => {}
            Row::NewDestination => {
                problem_lines(form, Some(Field::Destinations), &mut body.lines, width, s)
            }
            Row::Check(f, _) => {
                let last = !matches!(rows.get(i + 1), Some(Row::Check(g, _)) if *g == f);
                if last {
                    problem_lines(form, Some(f), &mut body.lines, width, s);
                }
            }
            Row::Save => problem_lines(form, None, &mut body.lines, width, s),
        }
        if focused {
            body.focus = (start, body.lines.len());
        }
    }
    body
}

/// A text field's visible value and the cursor's column within it.
fn text_value<'a>(
    form: &JobForm,
    field: Field,
    input: &'a Input,
    focused: bool,
    width: usize,
    s: &Styles,
) -> (Vec<Span<'a>>, usize) {
    if input.value().is_empty() {
        let hint = placeholder(form, field);
        return (vec![Span::styled(hint, s.muted)], 0);
    }
    let scroll = scroll_of(input, focused, width);
    let mut shown = visible_slice(input.value(), scroll, width);
    if !focused && shown.chars().count() < input.value().chars().count() {
        // Say that there is more than fits; the focused field scrolls instead.
        shown = visible_slice(input.value(), 0, width.saturating_sub(1)) + "…";
    }
    let column = input.visual_cursor().saturating_sub(scroll);
    (vec![Span::styled(shown, s.value)], column)
}

/// Columns of a text field scrolled out of view on the left: the focused
/// field follows its cursor, the others show their start.
fn scroll_of(input: &Input, focused: bool, width: usize) -> usize {
    if focused {
        input.visual_scroll(width.saturating_sub(1))
    } else {
        0
    }
}

fn choice_value<'a>(
    form: &JobForm,
    field: Field,
    focused: bool,
    width: usize,
    s: &Styles,
) -> Vec<Span<'a>> {
    let Some((labels, selected)) = form.values.choice(field) else {
        return Vec::new();
    };
    if labels.is_empty() {
        return vec![Span::styled("(none in the config)", s.muted)];
    }
    // Brackets mark the choice; two spaces between options.
    let inline: usize = labels.iter().map(|l| l.chars().count() + 2).sum::<usize>();
    if inline <= width {
        let mut spans = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            spans.push(if i == selected {
                Span::styled(format!("[{label}]"), s.selected)
            } else {
                Span::styled(format!(" {label} "), s.muted)
            });
        }
        return spans;
    }
    let arrows = if focused { ("◂ ", " ▸") } else { ("", "") };
    vec![
        Span::styled(
            format!("{}{}{}", arrows.0, labels[selected], arrows.1),
            s.selected,
        ),
        Span::styled(format!("  ({}/{})", selected + 1, labels.len()), s.muted),
    ]
}

fn destination_value<'a>(form: &JobForm, index: usize, s: &Styles) -> Vec<Span<'a>> {
    let Some(name) = form.values.destination_options.get(index) else {
        return Vec::new();
    };
    let ticked = form.values.destinations.contains(name);
    let mut spans = vec![if ticked {
        Span::styled(format!("[x] {name}"), s.selected)
    } else {
        Span::styled(format!("[ ] {name}"), s.value)
    }];
    if form.values.new_destinations.iter().any(|n| n.name == *name) {
        spans.push(Span::styled("  (new: made when the job is saved)", s.ok));
    } else if !form.rules.known.destinations.contains(name) {
        spans.push(Span::styled("  (not in the config)", s.error));
    } else if form.names.made.contains(name) {
        spans.push(Span::styled("  (made in the console)", s.muted));
    }
    spans
}

fn check_value<'a>(form: &JobForm, field: Field, index: usize, s: &Styles) -> Vec<Span<'a>> {
    let Some((label, ticked)) = form.values.notify.check(field, index) else {
        return Vec::new();
    };
    let mut spans = vec![if ticked {
        Span::styled(format!("[x] {label}"), s.selected)
    } else {
        Span::styled(format!("[ ] {label}"), s.value)
    }];
    if field == Field::NotifyTo && !form.rules.known.destinations.contains(label) {
        spans.push(Span::styled("  (not in the config)", s.error));
    }
    spans
}

fn schedule_lines(
    form: &JobForm,
    lines: &mut Vec<Line<'_>>,
    width: usize,
    now: DateTime<Utc>,
    s: &Styles,
) {
    let indent = " ".repeat(LABEL_WIDTH);
    match form.schedule_preview(now) {
        SchedulePreview::Valid {
            description,
            cron,
            zone,
            fires,
        } => {
            let text = format!("{description} ({zone}) · cron {cron}");
            for part in wrap(&text, width) {
                lines.push(Line::from(vec![
                    Span::raw(indent.clone()),
                    Span::styled(part, s.ok),
                ]));
            }
            if fires.is_empty() {
                lines.push(Line::styled(format!("{indent}never fires"), s.error));
            }
            for (utc, local) in fires {
                lines.push(Line::from(vec![
                    Span::raw(format!("{indent}{local:<27}  ")),
                    Span::styled(utc.format("%Y-%m-%d %H:%M:%S UTC").to_string(), s.muted),
                ]));
            }
        }
        SchedulePreview::Invalid { .. } if !form.shows_problems_of(Field::Schedule) => {}
        SchedulePreview::Invalid { message, span } => {
            if let Some(span) = span {
                let focused = form.focus == Row::Field(Field::Schedule);
                let input = &form.values.schedule;
                let scroll = scroll_of(input, focused, width);
                if let Some(carets) = caret_line(input.value(), span, scroll, width) {
                    lines.push(Line::from(vec![
                        Span::raw(indent.clone()),
                        Span::styled(carets, s.error),
                    ]));
                }
            }
            push_error(lines, &message, width, s);
        }
        SchedulePreview::NeedsZone { description } => {
            for part in wrap(&description, width) {
                lines.push(Line::from(vec![
                    Span::raw(indent.clone()),
                    Span::styled(part, s.ok),
                ]));
            }
            lines.push(Line::styled(
                format!("{indent}next fires show once the timezone is valid"),
                s.muted,
            ));
        }
    }
}

/// The zone names offered, if any; whether there were some.
fn completion_lines(form: &JobForm, lines: &mut Vec<Line<'_>>, s: &Styles) -> bool {
    let candidates = form.zone_completions();
    if candidates.is_empty() {
        return false;
    }
    let indent = " ".repeat(LABEL_WIDTH);
    for (i, name) in candidates.iter().enumerate() {
        let line = if i == form.completion.min(candidates.len() - 1) {
            Line::styled(format!("{indent}▸ {name}"), s.selected)
        } else {
            Line::styled(format!("{indent}  {name}"), s.value)
        };
        lines.push(line);
    }
    lines.push(Line::styled(
        format!("{indent}Tab or → accepts, ↑/↓ picks"),
        s.muted,
    ));
    true
}

fn problem_lines(
    form: &JobForm,
    field: Option<Field>,
    lines: &mut Vec<Line<'_>>,
    width: usize,
    s: &Styles,
) {
    let shown = field.is_none_or(|f| form.shows_problems_of(f));
    for problem in form.problems().iter().filter(|p| shown && p.field == field) {
        if let (Some(span), Some(f)) = (&problem.span, field)
            && let Some(input) = form.values.input(f)
        {
            let focused = form.focus == Row::Field(f);
            let scroll = scroll_of(input, focused, width);
            if let Some(carets) = caret_line(input.value(), span.clone(), scroll, width) {
                lines.push(Line::from(vec![
                    Span::raw(" ".repeat(LABEL_WIDTH)),
                    Span::styled(carets, s.error),
                ]));
            }
        }
        push_error(lines, &problem.message, width, s);
    }
}

fn push_error(lines: &mut Vec<Line<'_>>, message: &str, width: usize, s: &Styles) {
    let indent = " ".repeat(LABEL_WIDTH);
    for (i, part) in wrap(message, width.saturating_sub(2))
        .into_iter()
        .enumerate()
    {
        let mark = if i == 0 { "✗ " } else { "  " };
        lines.push(Line::styled(format!("{indent}{mark}{part}"), s.error));
    }
}

fn footer<'a>(form: &JobForm, s: &Styles) -> Vec<Line<'a>> {
    let status = if form.is_confirming_discard() {
        Line::styled(
            "Discard your changes? y: discard and close · n or Esc: keep editing",
            s.error,
        )
    } else if let Some(notice) = &form.notice {
        Line::styled(notice.clone(), s.error)
    } else if form.valid_spec().is_some() {
        Line::styled("✓ valid: Ctrl-S saves", s.ok)
    } else {
        let n = form.problems().len();
        let hidden = form
            .problems()
            .iter()
            .any(|p| p.field.is_some_and(|f| !form.shows_problems_of(f)));
        let plural = if n == 1 { "" } else { "s" };
        let text = if hidden {
            format!("✗ {n} problem{plural} to fix (Ctrl-S shows them all)")
        } else {
            format!("✗ {n} problem{plural} (marked ✗ under the fields)")
        };
        Line::styled(text, s.error)
    };
    let mut keys = Vec::new();
    for i in FOOTER_KEYS {
        let (key, what, _) = KEYS[i];
        keys.push(Span::styled(key, s.label));
        keys.push(Span::styled(format!(" {what}  "), s.muted));
    }
    vec![status, Line::from(keys)]
}

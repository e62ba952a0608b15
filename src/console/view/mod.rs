//! Drawing: `render(&Model, &mut Frame)`, one file per panel. Nothing here
//! changes state or reads the store; it draws what the model holds.

mod audit;
mod backfill;
mod catchup;
mod details;
mod dry_run;
mod errors;
mod footer;
mod header;
mod help;
mod history;
mod jobs;
mod log;
mod performance;
pub mod text;
mod theme;
mod upcoming;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Row, Wrap};

pub use theme::Theme;

use super::model::{Model, Panel, Popup, Question, Screen};

/// The smallest width at which all five panels are shown at once.
pub const WIDE: u16 = 120;
/// The smallest height at which all five panels are shown at once.
pub const TALL: u16 = 32;

/// Draw the whole console.
pub fn render(model: &Model, frame: &mut Frame) {
    let theme = Theme::new(model.color);
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(0),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    header::render(model, theme, frame, top);
    match &model.screen {
        Screen::Dashboard => dashboard(model, theme, frame, body),
        Screen::Job { .. } => details::job(model, theme, frame, body),
        Screen::Run { .. } => details::run(model, theme, frame, body),
    }
    footer::render(model, theme, frame, bottom);
    match &model.popup {
        None => {}
        Some(Popup::Help { scroll }) => help::render(theme, *scroll, frame, body),
        Some(Popup::Confirm(question)) => confirm(question, theme, frame, body),
        Some(Popup::Form { form, .. }) => {
            let area = centered(body, 100, body.height);
            frame.render_widget(Clear, area);
            form.render(frame, area, model.now);
        }
        Some(Popup::DryRun(view)) => dry_run::render(view, theme, frame, body),
        Some(Popup::CatchUp(view)) => catchup::render(model, view, theme, frame, body),
        Some(Popup::Backfill(view)) => backfill::render(view, theme, frame, body),
        Some(Popup::Audit(view)) => audit::render(view, model.zone, theme, frame, body),
        Some(Popup::Performance(view)) => performance::render(view, model.zone, theme, frame, body),
    }
}

fn dashboard(model: &Model, theme: Theme, frame: &mut Frame, area: Rect) {
    if area.width >= WIDE && area.height + 3 >= TALL {
        let [top, middle, low] = Layout::vertical([
            Constraint::Percentage(40),
            Constraint::Percentage(30),
            Constraint::Fill(1),
        ])
        .areas(area);
        let [jobs, upcoming] =
            Layout::horizontal([Constraint::Percentage(70), Constraint::Fill(1)]).areas(top);
        // History gets the full width (it has the most columns); the errors
        // panel sits beside the log, with room for 14 days of bars.
        let [log, errors] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Fill(1)]).areas(low);
        panel(model, theme, frame, jobs, Panel::Jobs, None);
        panel(model, theme, frame, upcoming, Panel::Upcoming, None);
        panel(model, theme, frame, middle, Panel::History, None);
        panel(model, theme, frame, errors, Panel::Errors, None);
        panel(model, theme, frame, log, Panel::Log, None);
    } else {
        // Two at a time: the jobs, and one other chosen with Tab.
        let [jobs, other] =
            Layout::vertical([Constraint::Percentage(48), Constraint::Fill(1)]).areas(area);
        panel(model, theme, frame, jobs, Panel::Jobs, None);
        let tabs = tab_strip(model, theme);
        panel(model, theme, frame, other, model.second, Some(tabs));
    }
}

/// "Upcoming · History · Live log · Errors" with the shown one marked.
fn tab_strip(model: &Model, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::raw(" ")];
    for (i, p) in Panel::ALL.iter().skip(1).enumerate() {
        if i > 0 {
            spans.push(Span::styled(" · ", theme.muted()));
        }
        // Brackets as well as bold: without colour (NO_COLOR), bold
        // against dim is all that would tell the shown panel apart.
        if *p == model.second {
            spans.push(Span::styled(format!("[{}]", p.title()), theme.strong()));
        } else {
            spans.push(Span::styled(p.title(), theme.muted()));
        }
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}

fn panel(
    model: &Model,
    theme: Theme,
    frame: &mut Frame,
    area: Rect,
    which: Panel,
    tabs: Option<Line<'static>>,
) {
    let focused = model.focus == which;
    match which {
        Panel::Jobs => jobs::render(model, theme, frame, area, focused),
        Panel::Upcoming => upcoming::render(model, theme, frame, area, focused, tabs),
        Panel::History => history::render(model, theme, frame, area, focused, tabs),
        Panel::Log => log::render(model, theme, frame, area, focused, tabs),
        Panel::Errors => errors::render(model, theme, frame, area, focused, tabs),
    }
}

/// A panel's frame: its title (or the tab strip), a note such as the
/// filter, and a border that shows focus.
fn block<'a>(
    theme: Theme,
    title: &str,
    tabs: Option<Line<'a>>,
    note: String,
    focused: bool,
) -> Block<'a> {
    let title =
        tabs.unwrap_or_else(|| Line::from(Span::styled(format!(" {title} "), theme.strong())));
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(theme.border(focused))
        .title(title);
    if !note.is_empty() {
        block = block
            .title(Line::from(Span::styled(format!(" {note} "), theme.muted())).right_aligned());
    }
    block
}

/// "filter: x" when a filter is set.
fn filter_note(filter: &str) -> String {
    if filter.is_empty() {
        String::new()
    } else {
        format!("filter: {filter}")
    }
}

/// The width of the widest of `texts`, for a column that fits them all.
fn widest<'a>(texts: impl Iterator<Item = &'a str>) -> u16 {
    texts.map(|t| t.chars().count()).max().unwrap_or(0) as u16
}

/// The items a list shows in `height` rows so that `selected` is among
/// them, each with whether it is the selected one. Only these are built
/// into rows, however long the list.
fn on_screen<T>(
    items: impl Iterator<Item = T>,
    selected: usize,
    height: usize,
) -> impl Iterator<Item = (bool, T)> {
    let first = selected.saturating_sub(height.saturating_sub(1));
    items
        .enumerate()
        .skip(first)
        .take(height)
        .map(move |(i, item)| (i == selected, item))
}

/// How many items of a list of `total` are above and below the `height`
/// rows [`on_screen`] shows around `selected`.
fn cut(total: usize, selected: usize, height: usize) -> (usize, usize) {
    let first = selected.saturating_sub(height.saturating_sub(1));
    (first.min(total), total.saturating_sub(first + height))
}

/// The words of a cut list's hint: "↑ 3 more above · ↓ 12 more below";
/// empty when nothing is cut.
fn more_text(above: usize, below: usize) -> String {
    let mut parts = Vec::new();
    if above > 0 {
        parts.push(format!("↑ {above} more above"));
    }
    if below > 0 {
        parts.push(format!("↓ {below} more below"));
    }
    parts.join(" · ")
}

/// A cut list's hint on the bottom border of its panel `area`, at the
/// right, so a list that fills its panel says that it goes on.
fn more_hint(frame: &mut Frame, theme: Theme, area: Rect, above: usize, below: usize) {
    border_hint(frame, theme, area, &more_text(above, below));
}

/// `text` on the bottom border of the panel `area`, at the right.
fn border_hint(frame: &mut Frame, theme: Theme, area: Rect, text: &str) {
    if text.is_empty() || area.height < 2 || area.width < 4 {
        return;
    }
    let text = format!(" {text} ");
    let width = (text.chars().count() as u16).min(area.width - 2);
    let at = Rect {
        x: area.right() - 1 - width,
        y: area.bottom() - 1,
        width,
        height: 1,
    };
    frame.render_widget(Paragraph::new(Span::styled(text, theme.strong())), at);
}

/// `row`, highlighted if it is the selected one.
fn mark(row: Row<'_>, selected: bool, theme: Theme, focused: bool) -> Row<'_> {
    if selected {
        row.style(theme.highlight(focused))
    } else {
        row
    }
}

/// A rectangle of at most `width` x `height` in the middle of `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// A small box with `lines`, cleared beneath.
fn popup(frame: &mut Frame, area: Rect, title: &str, lines: Vec<Line<'_>>, style: Style) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Double)
        .border_style(style)
        .title(format!(" {title} "));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

fn confirm(question: &Question, theme: Theme, frame: &mut Frame, body: Rect) {
    let (title, text, yes, no, style) = match question {
        Question::Delete(name) => (
            "Delete",
            format!("Delete job {name} and all its run history?"),
            " delete   ",
            " keep it",
            theme.bad(),
        ),
        Question::Discard(id) => (
            "Discard",
            format!("Discard held run {id}? Its output is removed, nothing is delivered."),
            " discard   ",
            " keep holding",
            theme.bad(),
        ),
        Question::Redeliver(id) => (
            "Redeliver",
            format!("Send run {id}'s kept output to its destinations again?"),
            " redeliver   ",
            " not now",
            theme.warn(),
        ),
    };
    let lines = vec![
        Line::from(text),
        Line::from(""),
        Line::from(vec![
            Span::styled("y", theme.strong()),
            Span::raw(yes),
            Span::styled("n", theme.strong()),
            Span::raw(no),
        ]),
    ];
    popup(frame, centered(body, 60, 5), title, lines, style);
}

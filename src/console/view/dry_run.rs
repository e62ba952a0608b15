//! The dry run's window: how many rows rendered to what size, and the
//! first rows as a table; nothing is delivered.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{Theme, centered, popup, text};
use crate::console::model::DryRunView;

/// Widest a preview column is drawn; longer values end in "…".
const PREVIEW_COLUMN: usize = 24;

/// A preview's columns and rows as aligned text lines.
fn preview_table(preview: &crate::export::Preview) -> (String, Vec<String>) {
    let cell = |value: Option<&str>| -> String {
        let value = value.unwrap_or("NULL").replace(['\n', '\t'], " ");
        if value.chars().count() > PREVIEW_COLUMN {
            let cut: String = value.chars().take(PREVIEW_COLUMN - 1).collect();
            format!("{cut}…")
        } else {
            value
        }
    };
    let header: Vec<String> = preview.columns.iter().map(|c| cell(Some(c))).collect();
    let rows: Vec<Vec<String>> = preview
        .rows
        .iter()
        .map(|row| row.iter().map(|v| cell(v.as_deref())).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .chain(std::iter::once(&header[i]))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join(" │ ")
            .trim_end()
            .to_string()
    };
    let body = rows.iter().map(|r| line(r)).collect();
    (line(&header), body)
}

pub(super) fn render(view: &DryRunView, theme: Theme, frame: &mut Frame, body: Rect) {
    let mut lines = Vec::new();
    let style = match &view.result {
        None => {
            lines.push(Line::styled(
                "rendering… (nothing will be delivered)",
                theme.muted(),
            ));
            theme.border(true)
        }
        Some(Ok(report)) => {
            let more = if report.complete {
                ""
            } else {
                " (the first; more follow)"
            };
            lines.push(Line::from(vec![
                Span::styled(
                    format!(
                        "{} rows{more} came to {} of {}",
                        report.rows_rendered,
                        text::bytes(report.bytes as i64),
                        report.extension
                    ),
                    theme.strong(),
                ),
                Span::raw("; nothing was delivered."),
            ]));
            lines.push(Line::from(""));
            let (header, rows) = preview_table(report);
            lines.push(Line::styled(header, theme.strong()));
            lines.extend(rows.into_iter().map(Line::from));
            theme.border(true)
        }
        Some(Err(error)) => {
            lines.push(Line::styled(error.clone(), theme.bad()));
            theme.bad()
        }
    };
    let height = (lines.len() as u16 + 2).clamp(5, body.height);
    popup(
        frame,
        centered(body, 100, height),
        &format!("Dry run of {} (Esc closes)", view.job),
        lines,
        style,
    );
}

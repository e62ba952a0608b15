//! `markdown`: a GitHub-flavoured table. Pipes are escaped and line breaks
//! become `<br>` so every cell stays on its row.

use std::io::{BufWriter, Write};

use serde::{Deserialize, Serialize};

use super::{Compression, Encoder, FormatError, check_width};
use crate::export::value::{Column, Row, Value};

/// `format = { kind = "markdown" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarkdownSpec {
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// Writes rows as a Markdown table.
pub struct MarkdownEncoder {
    out: BufWriter<Box<dyn Write + Send>>,
    width: usize,
}

impl MarkdownEncoder {
    /// An encoder writing to `out`.
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        MarkdownEncoder {
            out: BufWriter::with_capacity(64 * 1024, out),
            width: 0,
        }
    }
}

/// Escape what would end a cell or start markup; NULL is an empty cell.
pub fn escape_cell(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '|' => out.push_str("\\|"),
            '\\' => out.push_str("\\\\"),
            '\r' => {}
            '\n' => out.push_str("<br>"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
}

fn write_line<'a>(
    out: &mut impl Write,
    cells: impl Iterator<Item = &'a str>,
) -> std::io::Result<()> {
    let mut line = String::from("|");
    for cell in cells {
        line.push(' ');
        escape_cell(cell, &mut line);
        line.push_str(" |");
    }
    line.push('\n');
    out.write_all(line.as_bytes())
}

impl Encoder for MarkdownEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        if columns.is_empty() {
            return Err(FormatError::Data(
                "a Markdown table needs at least one column".into(),
            ));
        }
        self.width = columns.len();
        write_line(&mut self.out, columns.iter().map(|c| c.name.as_str()))?;
        let mut rule = String::from("|");
        for _ in columns {
            rule.push_str(" --- |");
        }
        rule.push('\n');
        self.out.write_all(rule.as_bytes())?;
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            check_width(row, self.width)?;
            let texts: Vec<_> = row.iter().map(Value::to_text).collect();
            write_line(
                &mut self.out,
                texts.iter().map(|t| t.as_deref().unwrap_or("")),
            )?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.flush()?;
        Ok(())
    }
}

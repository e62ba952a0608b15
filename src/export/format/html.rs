//! `html`: a standalone page with a styled table, streamed row by row.

use std::io::{BufWriter, Write};

use serde::{Deserialize, Serialize};

use super::{Compression, Encoder, FormatError, check_width};
use crate::export::RunContext;
use crate::export::value::{Column, Row, Value};

/// `format = { kind = "html", title = "Daily sales" }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlSpec {
    /// The page's title and heading (default: the job's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Compress the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222}\
h1{font-size:1.3rem}p.meta{color:#666;font-size:.85rem}\
table{border-collapse:collapse;font-size:.9rem}\
th,td{border:1px solid #ccc;padding:.3rem .6rem;vertical-align:top;white-space:pre-wrap}\
thead th{background:#2f4858;color:#fff;position:sticky;top:0}\
tbody tr:nth-child(even){background:#f4f6f8}\
td.num{text-align:right;font-variant-numeric:tabular-nums}td.null{background:#fafafa}";

/// Writes rows as an HTML page.
pub struct HtmlEncoder {
    out: BufWriter<Box<dyn Write + Send>>,
    title: String,
    run_time: String,
    width: usize,
    line: String,
}

impl HtmlEncoder {
    /// An encoder for `spec` writing to `out`.
    pub fn new(spec: &HtmlSpec, ctx: &RunContext, out: Box<dyn Write + Send>) -> Self {
        let local = ctx.scheduled_for.with_timezone(&ctx.timezone);
        HtmlEncoder {
            out: BufWriter::with_capacity(64 * 1024, out),
            title: spec.title.clone().unwrap_or_else(|| ctx.job.clone()),
            run_time: local.format("%Y-%m-%d %H:%M %Z").to_string(),
            width: 0,
            line: String::new(),
        }
    }
}

/// Escape text for element content and attribute values.
pub fn escape(text: &str, out: &mut String) {
    for ch in text.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
}

impl Encoder for HtmlEncoder {
    fn begin(&mut self, columns: &[Column]) -> Result<(), FormatError> {
        self.width = columns.len();
        let mut head = String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>");
        escape(&self.title, &mut head);
        head.push_str("</title><style>");
        head.push_str(STYLE);
        head.push_str("</style></head>\n<body><h1>");
        escape(&self.title, &mut head);
        head.push_str("</h1><p class=\"meta\">");
        escape(&self.run_time, &mut head);
        head.push_str("</p>\n<table><thead><tr>");
        for c in columns {
            head.push_str("<th>");
            escape(&c.name, &mut head);
            head.push_str("</th>");
        }
        head.push_str("</tr></thead>\n<tbody>\n");
        self.out.write_all(head.as_bytes())?;
        Ok(())
    }

    fn write_rows(&mut self, rows: &[Row]) -> Result<(), FormatError> {
        for row in rows {
            check_width(row, self.width)?;
            self.line.clear();
            self.line.push_str("<tr>");
            for value in row {
                match value {
                    Value::Null => self.line.push_str("<td class=\"null\"></td>"),
                    Value::Int(_) | Value::Float(_) | Value::Decimal(_) => {
                        self.line.push_str("<td class=\"num\">");
                        escape(&value.to_text().unwrap_or_default(), &mut self.line);
                        self.line.push_str("</td>");
                    }
                    _ => {
                        self.line.push_str("<td>");
                        escape(&value.to_text().unwrap_or_default(), &mut self.line);
                        self.line.push_str("</td>");
                    }
                }
            }
            self.line.push_str("</tr>\n");
            self.out.write_all(self.line.as_bytes())?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), FormatError> {
        self.out.write_all(b"</tbody></table>\n</body></html>\n")?;
        self.out.flush()?;
        Ok(())
    }
}

//! Shared by the format and source tests: rows of every type, rendering
//! into memory, and independent readers (Python's csv, json and html
//! modules run as separate programs).
#![allow(dead_code)]

#[path = "python.rs"]
mod python;

use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone as _, Utc};
use cronport::export::RunContext;
use cronport::export::format::{FormatError, FormatSpec};
use cronport::export::value::{Column, Row, Value};

/// Text that trips every escaping rule and needs every script.
pub const TRICKY: &str = "Zoë, \"quoted\" | <b>&amp;</b>\nline 2\ttab 東京 🚀 שלום مرحبا";

/// A run context with a fixed clock.
pub fn ctx(run_id: i64) -> RunContext {
    RunContext {
        job: "report".into(),
        run_id,
        attempt: 1,
        scheduled_for: Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(),
        window_start: Utc.with_ymd_and_hms(2026, 3, 7, 7, 0, 0).unwrap(),
        window_end: Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap(),
        timezone: chrono_tz::America::New_York,
    }
}

/// One column per value type.
pub fn columns() -> Vec<Column> {
    [
        "int",
        "float",
        "decimal",
        "bool",
        "text",
        "bytes",
        "date",
        "time",
        "datetime",
        "timestamp",
        "json",
        "null",
    ]
    .into_iter()
    .map(Column::new)
    .collect()
}

/// Three rows covering every type, extremes and awkward text.
pub fn rows() -> Vec<Row> {
    let ts = DateTime::parse_from_rfc3339("2026-03-08T03:00:00-04:00").unwrap();
    vec![
        vec![
            Value::Int(i64::MIN),
            Value::Float(0.1),
            Value::Decimal("12345678901234567890.0000000001".into()),
            Value::Bool(true),
            Value::Text(TRICKY.into()),
            Value::Bytes(vec![0, 255, 1]),
            Value::Date(NaiveDate::from_ymd_opt(2026, 2, 28).unwrap()),
            Value::Time(NaiveTime::from_hms_micro_opt(23, 59, 59, 250_000).unwrap()),
            Value::DateTime(
                NaiveDate::from_ymd_opt(2026, 3, 8)
                    .unwrap()
                    .and_hms_opt(2, 30, 0)
                    .unwrap(),
            ),
            Value::Timestamp(ts),
            Value::Json(serde_json::json!({"a": [1, 2.5, null], "b": "ü"})),
            Value::Null,
        ],
        vec![
            Value::Int(i64::MAX),
            Value::Float(-2.5e300),
            Value::Decimal("-0.5".into()),
            Value::Bool(false),
            Value::Text(String::new()),
            Value::Bytes(Vec::new()),
            Value::Date(NaiveDate::from_ymd_opt(1900, 3, 1).unwrap()),
            Value::Time(NaiveTime::from_hms_opt(0, 0, 0).unwrap()),
            Value::DateTime(
                NaiveDate::from_ymd_opt(1999, 12, 31)
                    .unwrap()
                    .and_hms_opt(23, 59, 59)
                    .unwrap(),
            ),
            Value::Timestamp(DateTime::parse_from_rfc3339("2026-11-01T01:30:00+05:45").unwrap()),
            Value::Json(serde_json::json!(null)),
            Value::Null,
        ],
        vec![Value::Null; 12],
    ]
}

/// The text form each cell must take in a text format (None for NULL).
pub fn expected_text() -> Vec<Vec<Option<String>>> {
    rows()
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| v.to_text().map(|t| t.into_owned()))
                .collect()
        })
        .collect()
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Render rows with a format into memory, in batches of two as a source would.
pub fn render(spec: &FormatSpec, columns: &[Column], rows: &[Row]) -> Result<Vec<u8>, FormatError> {
    let out = Shared::default();
    let mut encoder = spec.encoder(Box::new(out.clone()), &ctx(1))?;
    encoder.begin(columns)?;
    for chunk in rows.chunks(2) {
        encoder.write_rows(chunk)?;
    }
    encoder.finish()?;
    let bytes = out.0.lock().unwrap().clone();
    Ok(bytes)
}

/// Parse a format spec as a job file would hold it.
pub fn spec(toml_inline: &str) -> FormatSpec {
    #[derive(serde::Deserialize)]
    struct Holder {
        format: FormatSpec,
    }
    let holder: Holder = toml::from_str(&format!("format = {toml_inline}"))
        .unwrap_or_else(|e| panic!("{toml_inline}: {e}"));
    holder.format
}

/// Run a Python script with `file` as its argument and parse its stdout as JSON.
pub fn python_json(script: &str, file: &std::path::Path) -> serde_json::Value {
    let out = std::process::Command::new(python::python())
        .arg("-c")
        .arg(script)
        .arg(file)
        .output()
        .expect("python3 on PATH");
    assert!(
        out.status.success(),
        "python failed (scripts/services.sh destinations installs its packages): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Write bytes to a temporary file and hand back its path (kept with the dir).
pub fn temp_file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Run a reader (pdfinfo, pdffonts, qpdf...) on `path` and hand back its
/// stdout; failing to run or a failure exit fails the test.
pub fn tool(program: &str, args: &[&str], path: &std::path::Path) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (scripts/services.sh tools installs it)"));
    assert!(
        out.status.success(),
        "{program} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A PDF's text by `pdftotext` (`layout` keeps each page's lines apart),
/// pages separated by form feeds.
pub fn pdf_text(path: &std::path::Path, layout: bool) -> String {
    let args: &[&str] = if layout { &["-layout"] } else { &[] };
    let out = std::process::Command::new("pdftotext")
        .args(args)
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (scripts/services.sh tools installs poppler-utils)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The pages of `pdf_text` output: split at form feeds, blank ones left out.
pub fn pdf_pages(text: &str) -> Vec<&str> {
    text.split('\u{c}')
        .filter(|p| !p.trim().is_empty())
        .collect()
}

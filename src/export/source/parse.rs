//! Turning bytes into rows, shared by the file, command and http sources:
//! CSV (streamed), a JSON array of objects, and a Markdown table.

use tokio::sync::mpsc;

use super::{BATCH_ROWS, SourceError};
use crate::export::value::{Column, Row, Value};

/// What a reader thread sends: the columns once, then batches, or an error.
pub enum Message {
    /// The header.
    Columns(Vec<Column>),
    /// Rows.
    Rows(Vec<Row>),
}

/// Sender of [`Message`]s with back-pressure.
pub type Sender = mpsc::Sender<Result<Message, SourceError>>;

/// Receiver of a reader thread's [`Message`]s.
pub type Receiver = mpsc::Receiver<Result<Message, SourceError>>;

/// Wait for the header; an input that ends before one has no columns.
pub async fn first_columns(rx: &mut Receiver) -> Result<Vec<Column>, SourceError> {
    match rx.recv().await {
        Some(Ok(Message::Columns(columns))) => Ok(columns),
        Some(Ok(Message::Rows(_))) | None => Ok(Vec::new()),
        Some(Err(e)) => Err(e),
    }
}

/// The next batch after the header (an empty one for a stray header),
/// `None` once the reader is done.
pub async fn next_rows(rx: &mut Receiver) -> Result<Option<Vec<Row>>, SourceError> {
    match rx.recv().await {
        Some(Ok(Message::Rows(rows))) => Ok(Some(rows)),
        Some(Ok(Message::Columns(_))) => Ok(Some(Vec::new())),
        Some(Err(e)) => Err(e),
        None => Ok(None),
    }
}

/// Read CSV with a header row from `input`, sending batches as they fill
/// (blocking: run it on a thread of its own). `what` names the input in errors.
pub fn stream_csv(input: impl std::io::Read, what: &str, tx: &Sender) {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(input);
    let columns = match reader.headers() {
        Ok(headers) => headers.iter().map(Column::new).collect(),
        Err(e) => {
            let _ = tx.blocking_send(Err(SourceError::Parse(format!("{what} is not CSV: {e}"))));
            return;
        }
    };
    if tx.blocking_send(Ok(Message::Columns(columns))).is_err() {
        return;
    }
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    for record in reader.records() {
        match record {
            Ok(record) => batch.push(record.iter().map(|f| Value::Text(f.to_string())).collect()),
            Err(e) => {
                let _ =
                    tx.blocking_send(Err(SourceError::Parse(format!("{what} is not CSV: {e}"))));
                return;
            }
        }
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if tx.blocking_send(Ok(Message::Rows(full))).is_err() {
                return;
            }
        }
    }
    if !batch.is_empty() {
        let _ = tx.blocking_send(Ok(Message::Rows(batch)));
    }
}

/// A JSON value as a cell: numbers stay numbers, nested documents stay JSON.
pub fn json_cell(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Null,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => n
                .as_f64()
                .map_or(Value::Decimal(n.to_string()), Value::Float),
        },
        serde_json::Value::String(s) => Value::Text(s),
        other => Value::Json(other),
    }
}

/// A JSON array of objects (or one object) as columns and rows. Columns are
/// the keys in the order they first appear; a missing key is NULL.
pub fn json_rows(bytes: &[u8], what: &str) -> Result<(Vec<Column>, Vec<Row>), SourceError> {
    let doc: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| SourceError::Parse(format!("{what} is not JSON: {e}")))?;
    let items = match doc {
        serde_json::Value::Array(items) => items,
        object @ serde_json::Value::Object(_) => vec![object],
        other => {
            return Err(SourceError::Parse(format!(
                "{what} must hold an array of objects, not {}",
                kind_of(&other)
            )));
        }
    };
    let mut names: Vec<String> = Vec::new();
    let mut objects = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let serde_json::Value::Object(map) = item else {
            return Err(SourceError::Parse(format!(
                "{what}: item {} is {}, not an object",
                i + 1,
                kind_of(&item)
            )));
        };
        for key in map.keys() {
            if !names.contains(key) {
                names.push(key.clone());
            }
        }
        objects.push(map);
    }
    let rows = objects
        .into_iter()
        .map(|mut map| {
            names
                .iter()
                .map(|n| map.remove(n).map_or(Value::Null, json_cell))
                .collect()
        })
        .collect();
    Ok((names.into_iter().map(Column::new).collect(), rows))
}

fn kind_of(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The first pipe table of a Markdown document as columns and rows.
pub fn markdown_rows(text: &str, what: &str) -> Result<(Vec<Column>, Vec<Row>), SourceError> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let is_rule =
        |l: &str| l.contains('-') && l.chars().all(|c| matches!(c, '|' | '-' | ':' | ' '));
    let start = (1..lines.len())
        .find(|&i| lines[i - 1].starts_with('|') && is_rule(lines[i]))
        .ok_or_else(|| SourceError::Parse(format!("{what} holds no Markdown table")))?;
    let header = split_row(lines[start - 1]);
    let mut rows = Vec::new();
    for line in lines[start + 1..].iter().take_while(|l| l.starts_with('|')) {
        let mut cells = split_row(line);
        cells.resize(header.len(), String::new());
        rows.push(cells.into_iter().map(Value::Text).collect());
    }
    Ok((header.into_iter().map(Column::new).collect(), rows))
}

fn split_row(line: &str) -> Vec<String> {
    let inner = line.strip_prefix('|').unwrap_or(line);
    let inner = inner.strip_suffix('|').unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(cell)) = (chars.next(), cells.last_mut()) {
                    cell.push(next);
                }
            }
            '|' => cells.push(String::new()),
            c => {
                if let Some(cell) = cells.last_mut() {
                    cell.push(c);
                }
            }
        }
    }
    cells
        .into_iter()
        .map(|c| c.trim().replace("<br>", "\n"))
        .collect()
}

/// Rows held in memory, handed out in batches.
pub struct Buffered {
    /// The columns.
    pub columns: Vec<Column>,
    /// Rows not yet handed out, in reverse batch order.
    pub rows: std::vec::IntoIter<Row>,
}

impl Buffered {
    /// Wrap parsed rows.
    pub fn new(columns: Vec<Column>, rows: Vec<Row>) -> Self {
        Buffered {
            columns,
            rows: rows.into_iter(),
        }
    }

    /// The next batch, if any.
    pub fn next_batch(&mut self) -> Option<Vec<Row>> {
        let batch: Vec<Row> = self.rows.by_ref().take(BATCH_ROWS).collect();
        (!batch.is_empty()).then_some(batch)
    }
}

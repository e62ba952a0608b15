//! The `file` source: a path or glob of SVG diagrams, JSON, CSV or Markdown
//! files, optionally templates whose `{{placeholders}}` are filled from the
//! run and from a query's first row (a status diagram whose numbers change
//! daily).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_util::task::AbortOnDropHandle;

use super::parse::{self, Buffered, Message};
use super::sql::{Connections, SqlSource, SqlSpec};
use super::template::{self, Escape};
use super::{RowStream, Source, SourceError};
use crate::export::RunContext;
use crate::export::value::{Column, Row, Value};

/// `source = { kind = "file", path = "diagrams/*.svg", template = true }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    /// A file, or a glob (`*`, `?`, `[..]`) matched in sorted order.
    pub path: String,
    /// How to read the files (default: from the extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<FileFormat>,
    /// Fill `{{placeholders}}` before reading (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<bool>,
    /// A query whose first row's columns become placeholders too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_query: Option<SqlSpec>,
}

/// How a file's content becomes rows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// An SVG diagram: one row per file, columns `path` and `svg`.
    Svg,
    /// An array of objects: one row per object.
    Json,
    /// CSV with a header row, streamed.
    Csv,
    /// The first pipe table of the document.
    Markdown,
    /// The whole file as text: columns `path` and `content`.
    Text,
}

impl FileFormat {
    fn of(path: &Path) -> FileFormat {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => FileFormat::Svg,
            Some("json") => FileFormat::Json,
            Some("csv") => FileFormat::Csv,
            Some("md" | "markdown") => FileFormat::Markdown,
            _ => FileFormat::Text,
        }
    }

    fn escape(self) -> Escape {
        match self {
            FileFormat::Svg => Escape::Xml,
            FileFormat::Json => Escape::Json,
            _ => Escape::None,
        }
    }
}

/// The `file` source of one job.
pub struct FileSource {
    spec: FileSpec,
    connections: Arc<Connections>,
    base: PathBuf,
}

impl FileSource {
    /// A source reading `spec`, a relative path taken from `base` (the
    /// config's folder); `connections` serve its template query.
    pub fn new(spec: FileSpec, connections: Arc<Connections>, base: PathBuf) -> Self {
        FileSource {
            spec,
            connections,
            base,
        }
    }

    /// The path or glob as it will be matched: relative ones under `base`,
    /// whose own characters must not be read as glob syntax.
    fn pattern(&self) -> String {
        let given = &self.spec.path;
        if Path::new(given).is_absolute() || self.base.as_os_str().is_empty() {
            return given.clone();
        }
        let base = self.base.display().to_string();
        let base = if given.contains(['*', '?', '[']) {
            glob::Pattern::escape(&base)
        } else {
            base
        };
        format!("{}/{given}", base.trim_end_matches('/'))
    }

    /// The files the path names, sorted; none is an error.
    pub(super) fn paths(&self) -> Result<Vec<PathBuf>, SourceError> {
        let pattern = &self.pattern();
        let file_error = |message: String| SourceError::File {
            path: pattern.clone(),
            message,
        };
        if !self.spec.path.contains(['*', '?', '[']) {
            let path = PathBuf::from(pattern);
            return if path.is_file() {
                Ok(vec![path])
            } else {
                Err(file_error("no such file".into()))
            };
        }
        let mut paths = Vec::new();
        for entry in glob::glob(pattern).map_err(|e| file_error(format!("bad glob: {e}")))? {
            let path = entry.map_err(|e| file_error(e.to_string()))?;
            if path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();
        if paths.is_empty() {
            return Err(file_error("no file matches".into()));
        }
        Ok(paths)
    }

    async fn values(&self, ctx: &RunContext) -> Result<BTreeMap<String, String>, SourceError> {
        let mut values = template::run_values(ctx);
        if let Some(query) = &self.spec.template_query {
            let source = SqlSource::new(query.clone(), self.connections.clone());
            let mut stream = source.open(ctx).await?;
            let columns: Vec<Column> = stream.columns().to_vec();
            let first = stream
                .next_batch()
                .await?
                .and_then(|b| b.into_iter().next());
            let row = first
                .ok_or_else(|| SourceError::Template("template_query returned no row".into()))?;
            for (c, v) in columns.iter().zip(row) {
                values.insert(
                    c.name.clone(),
                    v.to_text().map(|t| t.into_owned()).unwrap_or_default(),
                );
            }
        }
        Ok(values)
    }
}

async fn read(path: &Path) -> Result<Vec<u8>, SourceError> {
    tokio::fs::read(path).await.map_err(|e| SourceError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

fn utf8(bytes: Vec<u8>, path: &Path) -> Result<String, SourceError> {
    String::from_utf8(bytes).map_err(|_| SourceError::File {
        path: path.display().to_string(),
        message: "is not UTF-8 text".into(),
    })
}

#[async_trait]
impl Source for FileSource {
    async fn open(&self, ctx: &RunContext) -> Result<Box<dyn RowStream>, SourceError> {
        let paths = self.paths()?;
        let format = self
            .spec
            .format
            .unwrap_or_else(|| FileFormat::of(&paths[0]));
        let values = if self.spec.template.unwrap_or(false) || self.spec.template_query.is_some() {
            Some(self.values(ctx).await?)
        } else {
            None
        };
        if format == FileFormat::Csv && values.is_none() {
            return Ok(Box::new(CsvFiles::open(paths).await?));
        }
        let mut columns: Option<Vec<Column>> = None;
        let mut rows: Vec<Row> = Vec::new();
        for path in &paths {
            let what = path.display().to_string();
            let mut text = utf8(read(path).await?, path)?;
            if let Some(values) = &values {
                text = template::fill(&text, values, format.escape(), &what)?;
            }
            let (cols, mut new_rows) = match format {
                FileFormat::Svg | FileFormat::Text => {
                    let name = if format == FileFormat::Svg {
                        "svg"
                    } else {
                        "content"
                    };
                    let cols = vec![Column::new("path"), Column::new(name)];
                    // The row names the file as the job did, not where the
                    // config's folder happens to be.
                    let shown = path.strip_prefix(&self.base).unwrap_or(path);
                    let shown = Value::Text(shown.display().to_string());
                    (cols, vec![vec![shown, Value::Text(text)]])
                }
                FileFormat::Json => parse::json_rows(text.as_bytes(), &what)?,
                FileFormat::Markdown => parse::markdown_rows(&text, &what)?,
                FileFormat::Csv => csv_in_memory(&text, &what)?,
            };
            match &columns {
                None => columns = Some(cols),
                Some(first) if *first == cols => {}
                Some(first) => {
                    return Err(SourceError::File {
                        path: what,
                        message: format!(
                            "has columns {} but the first file has {}",
                            names(&cols),
                            names(first)
                        ),
                    });
                }
            }
            rows.append(&mut new_rows);
        }
        Ok(Box::new(BufferedRows(Buffered::new(
            columns.unwrap_or_default(),
            rows,
        ))))
    }
}

fn names(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| c.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn csv_in_memory(text: &str, what: &str) -> Result<(Vec<Column>, Vec<Row>), SourceError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let parse_error = |e: csv::Error| SourceError::Parse(format!("{what} is not CSV: {e}"));
    let columns = reader
        .headers()
        .map_err(parse_error)?
        .iter()
        .map(Column::new)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.map(|r| r.iter().map(|f| Value::Text(f.to_string())).collect()))
        .collect::<Result<_, _>>()
        .map_err(parse_error)?;
    Ok((columns, rows))
}

/// Rows parsed in memory (JSON, Markdown, diagrams, templates).
pub struct BufferedRows(pub Buffered);

#[async_trait]
impl RowStream for BufferedRows {
    fn columns(&self) -> &[Column] {
        &self.0.columns
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SourceError> {
        Ok(self.0.next_batch())
    }

    async fn finish(self: Box<Self>) -> Result<(), SourceError> {
        Ok(())
    }
}

/// CSV files streamed one after another on a thread of their own.
struct CsvFiles {
    columns: Vec<Column>,
    rx: parse::Receiver,
    _reader: AbortOnDropHandle<()>,
}

impl CsvFiles {
    async fn open(paths: Vec<PathBuf>) -> Result<CsvFiles, SourceError> {
        let (tx, mut rx) = mpsc::channel(2);
        let reader = crate::export::thread::spawn("cronport-read", move || {
            let mut header: Option<Vec<Column>> = None;
            for path in paths {
                let what = path.display().to_string();
                let file = match std::fs::File::open(&path) {
                    Ok(f) => f,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(SourceError::File {
                            path: what,
                            message: e.to_string(),
                        }));
                        return;
                    }
                };
                // Each file's header is checked against the first; only the
                // first is passed on.
                let (inner_tx, mut inner_rx) = mpsc::channel(2);
                let forward = std::thread::spawn(move || {
                    parse::stream_csv(std::io::BufReader::new(file), &what, &inner_tx)
                });
                while let Some(message) = inner_rx.blocking_recv() {
                    let message = match (message, &header) {
                        (Ok(Message::Columns(cols)), None) => {
                            header = Some(cols.clone());
                            Ok(Message::Columns(cols))
                        }
                        (Ok(Message::Columns(cols)), Some(first)) if cols == *first => continue,
                        (Ok(Message::Columns(cols)), Some(first)) => Err(SourceError::File {
                            path: path.display().to_string(),
                            message: format!(
                                "has columns {} but the first file has {}",
                                names(&cols),
                                names(first)
                            ),
                        }),
                        (other, _) => other,
                    };
                    let failed = message.is_err();
                    if tx.blocking_send(message).is_err() || failed {
                        return;
                    }
                }
                let _ = forward.join();
            }
        });
        let columns = parse::first_columns(&mut rx).await?;
        Ok(CsvFiles {
            columns,
            rx,
            _reader: AbortOnDropHandle::new(reader),
        })
    }
}

#[async_trait]
impl RowStream for CsvFiles {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SourceError> {
        parse::next_rows(&mut self.rx).await
    }

    async fn finish(self: Box<Self>) -> Result<(), SourceError> {
        Ok(())
    }
}

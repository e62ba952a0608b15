//! Dry runs: render the first rows of an export without writing a file or
//! delivering anything, for `cronport jobs run NAME --dry-run` and the
//! console's `D`.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use super::format::{FormatError, FormatSpec};
use super::source::SourceSpec;
use super::value::Row;
use super::{ExportError, Pipeline, RunContext};

/// What a dry run saw.
#[derive(Clone, Debug, PartialEq)]
pub struct Preview {
    /// Column names.
    pub columns: Vec<String>,
    /// The first rows as text (`None` for NULL).
    pub rows: Vec<Vec<Option<String>>>,
    /// Rows rendered (at most the limit).
    pub rows_rendered: u64,
    /// Bytes the format produced for them.
    pub bytes: u64,
    /// Whether the source ended within the limit (so `bytes` is the whole file).
    pub complete: bool,
    /// The output's extension.
    pub extension: String,
}

impl Preview {
    /// A plain-text summary for the terminal: a header line, the rows
    /// separated by tabs, and the totals.
    pub fn to_text(&self) -> String {
        let mut out = self.columns.join("\t");
        out.push('\n');
        for row in &self.rows {
            let cells: Vec<String> = row
                .iter()
                .map(|c| c.as_deref().unwrap_or("NULL").replace(['\n', '\t'], " "))
                .collect();
            out.push_str(&cells.join("\t"));
            out.push('\n');
        }
        out.push_str(&format!(
            "-- {} row(s) rendered to {} bytes of {}{}; nothing delivered\n",
            self.rows_rendered,
            self.bytes,
            self.extension,
            if self.complete {
                ""
            } else {
                " (more rows follow)"
            }
        ));
        out
    }
}

struct Counter(Arc<AtomicU64>);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Pipeline {
    /// Read up to `limit` rows, render them with `format` into nothing but a
    /// byte count, and show the first `limit` rows. A source that has more
    /// is stopped (its query cancelled, its program killed).
    pub async fn preview(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        ctx: &RunContext,
        limit: usize,
    ) -> Result<Preview, ExportError> {
        let mut stream = self.source(source).open(ctx).await?;
        let columns = stream.columns().to_vec();
        let mut rows: Vec<Row> = Vec::new();
        let mut complete = false;
        while rows.len() < limit {
            match stream.next_batch().await? {
                Some(mut batch) => {
                    batch.truncate(limit - rows.len());
                    rows.append(&mut batch);
                }
                None => {
                    complete = true;
                    break;
                }
            }
        }
        if complete {
            stream.finish().await?;
        } else {
            // There may be exactly `limit` rows: look once more.
            complete = stream.next_batch().await?.is_none();
            if complete {
                stream.finish().await?;
            }
        }
        let count = Arc::new(AtomicU64::new(0));
        let mut encoder = format.encoder(Box::new(Counter(count.clone())), ctx)?;
        let texts = rows
            .iter()
            .map(|r| {
                r.iter()
                    .map(|v| v.to_text().map(|t| t.into_owned()))
                    .collect()
            })
            .collect();
        let rendered = rows.len() as u64;
        let encode_columns = columns.clone();
        // Rendering is CPU work (a PDF parses fonts): off the async threads.
        tokio::task::spawn_blocking(move || -> Result<(), FormatError> {
            encoder.begin(&encode_columns)?;
            encoder.write_rows(&rows)?;
            encoder.finish()
        })
        .await
        .map_err(|e| FormatError::Io(std::io::Error::other(e)))??;
        Ok(Preview {
            columns: columns.into_iter().map(|c| c.name).collect(),
            rows: texts,
            rows_rendered: rendered,
            bytes: count.load(Ordering::Relaxed),
            complete,
            extension: format.extension(),
        })
    }
}

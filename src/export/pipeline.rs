//! Source -> format -> destinations for one run attempt.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;

use super::RunContext;
use super::destination::{Artifact, Destination, DestinationError};
use super::format::{FormatError, FormatSpec};
use super::source::command::CommandSource;
use super::source::sql::{Connections, SqlSource};
use super::source::{Source, SourceError, SourceSpec};
use super::value::Row;

/// What one successful export produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOutput {
    /// Rows rendered.
    pub rows: u64,
    /// Bytes of the rendered file.
    pub bytes: u64,
    /// Where it was delivered, one entry per destination.
    pub outputs: Vec<String>,
}

/// Why an export failed; the message says which stage.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the source failed.
    #[error("source: {0}")]
    Source(#[from] SourceError),
    /// Rendering failed.
    #[error("format: {0}")]
    Format(#[from] FormatError),
    /// A destination refused.
    #[error("destination {name:?}: {error}")]
    Destination {
        /// The destination's name.
        name: String,
        /// What went wrong.
        error: DestinationError,
    },
    /// The job names a destination the config lacks.
    #[error("destination {0:?} is not defined under [destinations] in the config")]
    UnknownDestination(String),
    /// The spool folder could not be used.
    #[error("spool {path}: {error}")]
    Spool {
        /// The spool file.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// What a dry run rendered (nothing was delivered).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DryRun {
    /// Rows rendered.
    pub rows: u64,
    /// Bytes of the rendered file.
    pub bytes: u64,
    /// The first lines of the output; empty for binary formats.
    pub preview: Vec<String>,
}

/// The first `lines` lines of a rendered file, read from at most its first
/// 64 KiB; nothing for output that is not text.
fn read_preview(path: &std::path::Path, lines: usize) -> std::io::Result<Vec<String>> {
    use std::io::Read as _;
    let mut head = Vec::new();
    File::open(path)?.take(64 * 1024).read_to_end(&mut head)?;
    if head.contains(&0) {
        return Ok(Vec::new());
    }
    Ok(String::from_utf8_lossy(&head)
        .lines()
        .take(lines)
        .map(str::to_string)
        .collect())
}

/// Everything a run needs to export: connections, destinations, a spool.
pub struct Pipeline {
    connections: Arc<Connections>,
    destinations: HashMap<String, Arc<dyn Destination>>,
    spool: PathBuf,
}

impl Pipeline {
    /// A pipeline over the config's connections and destinations; rendered
    /// files wait in `spool` until every destination has them.
    pub fn new(
        connections: Arc<Connections>,
        destinations: HashMap<String, Arc<dyn Destination>>,
        spool: PathBuf,
    ) -> Self {
        Pipeline {
            connections,
            destinations,
            spool,
        }
    }

    /// A pipeline over a config's connections and destinations, with its
    /// spool folder.
    pub fn from_config(config: &crate::config::Config) -> Self {
        let connections = Arc::new(Connections::new(
            config.sources.clone().into_iter().collect(),
        ));
        let destinations = config
            .destinations
            .iter()
            .map(|(name, dest)| (name.clone(), Arc::from(dest.build())))
            .collect();
        Pipeline::new(
            connections,
            destinations,
            config.scheduler.spool_dir.clone(),
        )
    }

    /// The named connections, for `cronport check`.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The named destinations, for `cronport check`.
    pub fn destinations(&self) -> &HashMap<String, Arc<dyn Destination>> {
        &self.destinations
    }

    fn source(&self, spec: &SourceSpec) -> Box<dyn Source> {
        match spec {
            SourceSpec::Sql(spec) => {
                Box::new(SqlSource::new(spec.clone(), self.connections.clone()))
            }
            SourceSpec::Command(spec) => Box::new(CommandSource::new(spec.clone())),
        }
    }

    /// Run one export. Cancel by dropping the future: temporary files are
    /// removed and deliveries already made are taken back.
    pub async fn run(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        destinations: &[String],
        ctx: &RunContext,
    ) -> Result<ExportOutput, ExportError> {
        let targets = destinations
            .iter()
            .map(|name| {
                let dest = self
                    .destinations
                    .get(name)
                    .ok_or_else(|| ExportError::UnknownDestination(name.clone()))?;
                Ok((name.clone(), dest.clone()))
            })
            .collect::<Result<Vec<_>, ExportError>>()?;
        let spool = Spool::create(&self.spool, ctx, format.extension())?;
        let (rows, bytes) = self.render(source, format, ctx, &spool).await?;
        tracing::info!("rendered {rows} rows, {bytes} bytes of {}", format.kind());
        let artifact = Artifact {
            path: spool.path.clone(),
            extension: format.extension().to_string(),
            bytes,
            rows,
        };
        let mut delivered = Delivered::default();
        for (name, dest) in targets {
            match dest.deliver(&artifact, ctx).await {
                Ok(location) => {
                    tracing::info!("delivered to {name}: {location}");
                    delivered.0.push((dest, location));
                }
                Err(error) => {
                    delivered.retract().await;
                    return Err(ExportError::Destination { name, error });
                }
            }
        }
        let outputs = delivered.keep();
        Ok(ExportOutput {
            rows,
            bytes,
            outputs,
        })
    }

    /// Render as a run would and keep the size and the first
    /// `preview_lines` lines of the output; deliver nothing. The rendered
    /// file is removed.
    pub async fn dry_run(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        ctx: &RunContext,
        preview_lines: usize,
    ) -> Result<DryRun, ExportError> {
        // Dry runs have no run id of their own: a counter keeps two at
        // once apart in the spool.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "dry-run-{}-{n}-{}.{}",
            ctx.job,
            std::process::id(),
            format.extension()
        );
        let spool = Spool::named(&self.spool, name)?;
        let (rows, bytes) = self.render(source, format, ctx, &spool).await?;
        let preview = read_preview(&spool.path, preview_lines).map_err(|e| spool.error(e))?;
        Ok(DryRun {
            rows,
            bytes,
            preview,
        })
    }

    async fn render(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        ctx: &RunContext,
        spool: &Spool,
    ) -> Result<(u64, u64), ExportError> {
        let mut stream = self.source(source).open(ctx).await?;
        let file = File::create(&spool.path).map_err(|error| spool.error(error))?;
        let counter = Arc::new(AtomicU64::new(0));
        let out = CountingWriter {
            inner: BufWriter::with_capacity(256 * 1024, file),
            count: counter.clone(),
        };
        let mut encoder = format.encoder(Box::new(out));
        encoder.begin(stream.columns())?;
        // Encoding is CPU and blocking I/O: it runs on a blocking thread and
        // takes batches over a short channel, so a slow disk slows the source
        // instead of filling memory.
        let (tx, mut rx) = mpsc::channel::<Vec<Row>>(2);
        let writer = tokio::task::spawn_blocking(move || -> Result<(), FormatError> {
            while let Some(batch) = rx.blocking_recv() {
                encoder.write_rows(&batch)?;
            }
            encoder.finish()
        });
        let mut rows = 0u64;
        let read: Result<(), ExportError> = async {
            while let Some(batch) = stream.next_batch().await? {
                rows += batch.len() as u64;
                if tx.send(batch).await.is_err() {
                    break; // the writer failed; its error is reported below
                }
            }
            Ok(())
        }
        .await;
        drop(tx);
        let written = writer
            .await
            .map_err(|e| FormatError::Io(std::io::Error::other(e)))?;
        read?;
        written?;
        stream.finish().await?;
        Ok((rows, counter.load(Ordering::Relaxed)))
    }
}

/// The spool file of one attempt, removed when the attempt ends either way.
struct Spool {
    path: PathBuf,
}

impl Spool {
    fn create(folder: &std::path::Path, ctx: &RunContext, ext: &str) -> Result<Spool, ExportError> {
        let name = format!(
            "run-{}-{}-{}.{ext}",
            ctx.run_id,
            ctx.attempt,
            std::process::id()
        );
        Self::named(folder, name)
    }

    fn named(folder: &std::path::Path, name: String) -> Result<Spool, ExportError> {
        std::fs::create_dir_all(folder).map_err(|error| ExportError::Spool {
            path: folder.display().to_string(),
            error,
        })?;
        Ok(Spool {
            path: folder.join(name),
        })
    }

    fn error(&self, error: std::io::Error) -> ExportError {
        ExportError::Spool {
            path: self.path.display().to_string(),
            error,
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Deliveries made so far; if the run fails or is cancelled before all are
/// made, the ones already made are taken back.
#[derive(Default)]
struct Delivered(Vec<(Arc<dyn Destination>, String)>);

impl Delivered {
    async fn retract(&mut self) {
        for (dest, location) in self.0.drain(..) {
            if let Err(e) = dest.retract(&location).await {
                tracing::warn!("could not take back {location}: {e}");
            }
        }
    }

    fn keep(mut self) -> Vec<String> {
        self.0.drain(..).map(|(_, location)| location).collect()
    }
}

impl Drop for Delivered {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let pending: Vec<_> = self.0.drain(..).collect();
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                for (dest, location) in pending {
                    let _ = dest.retract(&location).await;
                }
            });
        }
    }
}

struct CountingWriter<W> {
    inner: W,
    count: Arc<AtomicU64>,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

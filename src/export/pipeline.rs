//! Source -> format -> destinations for one run attempt.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;

use super::RunContext;
use super::delivery;
use super::destination::{Artifact, Destination, DestinationError};
use super::format::{FormatError, FormatSpec};
use super::source::command::CommandSource;
use super::source::file::FileSource;
use super::source::http::HttpSource;
use super::source::sql::{Connections, SqlSource};
use super::source::{Source, SourceError, SourceSpec};
use crate::store::Store;

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

/// Everything a run needs to export: connections, destinations, a spool.
pub struct Pipeline {
    connections: Arc<Connections>,
    destinations: HashMap<String, Arc<dyn Destination>>,
    spool: PathBuf,
    /// Where per-destination outcomes are recorded, when running for real.
    store: Option<Store>,
    /// Keep each run's rendered file this many days for `runs redeliver`.
    spool_days: Option<u32>,
    /// Relative file-source paths and command folders are taken from here.
    base: PathBuf,
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
            store: None,
            spool_days: None,
            base: PathBuf::new(),
        }
    }

    /// Take relative file-source paths and command folders from `folder`
    /// (the config's), not from wherever cronport was started.
    pub fn with_base(mut self, folder: PathBuf) -> Self {
        self.base = folder;
        self
    }

    /// Record each run's per-destination outcome in `store`.
    pub fn with_store(mut self, store: Store) -> Self {
        self.store = Some(store);
        self
    }

    /// Keep rendered files `days` days (0: not at all) for `runs redeliver`.
    pub fn with_spool_days(mut self, days: u32) -> Self {
        self.spool_days = (days > 0).then_some(days);
        self
    }

    /// The store outcomes are recorded in, if any.
    pub fn store(&self) -> Option<&Store> {
        self.store.as_ref()
    }

    /// A pipeline over a config's connections and destinations, with its
    /// spool folder and how long it keeps outputs for redelivery.
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
        .with_spool_days(config.scheduler.spool_days)
        .with_base(config.folder.clone())
    }

    /// The named connections, for `cronport check`.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The named destinations, for `cronport check`.
    pub fn destinations(&self) -> &HashMap<String, Arc<dyn Destination>> {
        &self.destinations
    }

    /// The source behind a spec, ready to open.
    pub(crate) fn source(&self, spec: &SourceSpec) -> Box<dyn Source> {
        match spec {
            SourceSpec::Sql(spec) => {
                Box::new(SqlSource::new(spec.clone(), self.connections.clone()))
            }
            SourceSpec::Command(spec) => {
                Box::new(CommandSource::new(spec.clone(), self.base.clone()))
            }
            SourceSpec::File(spec) => Box::new(FileSource::new(
                spec.clone(),
                self.connections.clone(),
                self.base.clone(),
            )),
            SourceSpec::Http(spec) => Box::new(HttpSource::new(spec.clone())),
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
        let spool = Spool::create(&self.spool, ctx, &format.extension())?;
        let (rows, bytes) = self.render(source, format, ctx, &spool).await?;
        tracing::info!("rendered {rows} rows, {bytes} bytes of {}", format.kind());
        let mut artifact = Artifact {
            path: spool.path.clone(),
            extension: format.extension(),
            bytes,
            rows,
            delivered: Vec::new(),
        };
        let outcome = delivery::deliver_all(&targets, &mut artifact, ctx).await;
        if let Some(store) = &self.store
            && let Err(e) = store
                .record_deliveries(ctx.run_id, &outcome.records(ctx))
                .await
        {
            tracing::warn!("could not record the deliveries: {e}");
        }
        self.keep(&spool, ctx, &artifact.extension, rows);
        if let Some((name, error)) = outcome.failure {
            return Err(ExportError::Destination { name, error });
        }
        Ok(ExportOutput {
            rows,
            bytes,
            outputs: outcome.locations(),
        })
    }

    /// Keep the rendered file for `runs redeliver`, and drop kept files
    /// past `spool_days`.
    fn keep(&self, spool: &Spool, ctx: &RunContext, extension: &str, rows: u64) {
        let Some(days) = self.spool_days else {
            return;
        };
        delivery::prune_kept(&self.spool, days, std::time::SystemTime::now());
        if let Err(e) = delivery::keep(&spool.path, &self.spool, ctx.run_id, extension, rows) {
            tracing::warn!("could not keep the output for redelivery: {e}");
        }
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
        let mut encoder = format.encoder(Box::new(out), ctx)?;
        encoder.begin(stream.columns())?;
        // Encoding is CPU and blocking I/O, so it runs on a blocking thread,
        // which also pulls the batches: a source reading on its own thread
        // (SQLite) hands each batch straight to the encoder, one channel hop,
        // and reading and encoding run on two cores at once. The source's
        // bounded channel makes a slow disk slow the source instead of
        // filling memory. Dropping this future cancels the token, which
        // drops the stream and so stops the source.
        let cancel = CancellationToken::new();
        let _cancel_on_drop = cancel.clone().drop_guard();
        let runtime = tokio::runtime::Handle::current();
        let writer = tokio::task::spawn_blocking(move || -> Result<u64, ExportError> {
            let mut rows = 0u64;
            loop {
                let next = runtime.block_on(async {
                    tokio::select! {
                        () = cancel.cancelled() => None,
                        batch = stream.next_batch() => Some(batch),
                    }
                });
                let Some(batch) = next else {
                    return Ok(rows); // cancelled: nobody reads the result
                };
                let Some(batch) = batch? else {
                    break;
                };
                rows += batch.len() as u64;
                encoder.write_rows(&batch)?;
            }
            encoder.finish()?;
            runtime.block_on(stream.finish())?;
            Ok(rows)
        });
        let rows = writer
            .await
            .map_err(|e| FormatError::Io(std::io::Error::other(e)))??;
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

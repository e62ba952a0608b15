//! Source -> format -> destinations for one run attempt.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio_util::sync::CancellationToken;
use xxhash_rust::xxh3::Xxh3;

use super::RunContext;
use super::delivery::{self, Outcome, Target};
use super::destination::{Artifact, Destination, DestinationError};
use super::format::{FormatError, FormatSpec};
use super::registry::{Named, Registry};
use super::source::command::CommandSource;
use super::source::file::FileSource;
use super::source::http::HttpSource;
use super::source::sql::{Connections, SqlSource};
use super::source::{Source, SourceError, SourceSpec};
use super::spool::SpoolFile;
use super::value::{Schema, SchemaProbe};

/// What to work out of a rendered output besides its rows and bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Measure {
    /// Its content hash (`deliver = "on_change"`).
    pub hash: bool,
    /// Its columns' types (`checks.schema = "stable"`).
    pub schema: bool,
}

/// What one successful export produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportOutput {
    /// Rows rendered.
    pub rows: u64,
    /// Bytes of the rendered file.
    pub bytes: u64,
    /// Where it was delivered, one entry per destination.
    pub outputs: Vec<String>,
    /// Nothing was delivered: the content was the same as the last
    /// delivered run's (`deliver = "on_change"`).
    pub unchanged: bool,
    /// Nothing was delivered because a check failed: the run is held or
    /// skipped.
    pub checked: Option<CheckStop>,
}

/// Why a run's output was not delivered: a check failed and the job holds
/// or skips such runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckStop {
    /// What failed, starting with the check's key.
    pub message: String,
    /// Held (kept for a release) rather than skipped.
    pub held: bool,
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
    /// A check of the rendered output failed and the job says
    /// `on_check_fail = "fail"`; nothing was delivered.
    #[error("check failed: {0}")]
    Check(String),
    /// The job names a destination neither the config nor the store has.
    #[error(
        "destination {0:?} is not defined under [destinations] in the config (nor made in the console)"
    )]
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

/// One attempt's rendered file, still in the spool and not yet delivered.
/// What becomes of it (delivered, kept for `runs redeliver`, dropped) is
/// the caller's decision; dropping it removes the file.
#[derive(Debug)]
pub struct Rendered {
    /// The file; `None` from executors that render nothing (benchmarks of
    /// the scheduler alone).
    pub file: Option<SpoolFile>,
    /// Its extension (`csv`, `csv.gz`).
    pub extension: String,
    /// Rows rendered.
    pub rows: u64,
    /// Bytes of the rendered file.
    pub bytes: u64,
    /// The content hash of those bytes (`xxh3:` and 32 lowercase hex
    /// digits), when it was asked for: computed as the encoder wrote them,
    /// not by reading the file again.
    pub content_hash: Option<String>,
    /// Its columns and their types, when asked for (`schema = "stable"`).
    pub schema: Option<super::value::Schema>,
}

impl Rendered {
    /// Nothing rendered: for executors that do no export.
    pub fn nothing() -> Rendered {
        Rendered {
            file: None,
            extension: String::new(),
            rows: 0,
            bytes: 0,
            content_hash: None,
            schema: None,
        }
    }
}

/// What one attempt did: the file it rendered and what happened at each
/// destination.
#[derive(Debug)]
pub struct Export {
    /// The rendered file.
    pub rendered: Rendered,
    /// The outcome at every destination.
    pub outcome: Outcome,
}

impl Export {
    /// The attempt's result: what it produced, or the destination that
    /// refused.
    pub fn into_output(self) -> Result<ExportOutput, ExportError> {
        self.outcome
            .into_output(self.rendered.rows, self.rendered.bytes)
    }
}

/// Everything a run needs to export: connections, destinations, a spool.
pub struct Pipeline {
    connections: Arc<Connections>,
    destinations: Registry,
    spool: PathBuf,
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
            destinations: Registry::new(destinations),
            spool,
            base: PathBuf::new(),
        }
    }

    /// Take relative file-source paths and command folders from `folder`
    /// (the config's), not from wherever cronport was started.
    pub fn with_base(mut self, folder: PathBuf) -> Self {
        self.base = folder;
        self
    }

    /// Render into `folder` instead: the scheduler gives each store a
    /// spool folder of its own.
    pub fn with_spool(mut self, folder: PathBuf) -> Self {
        self.spool = folder;
        self
    }

    /// The named connections, for `cronport check`.
    pub fn connections(&self) -> &Connections {
        &self.connections
    }

    /// The named destinations as of now, for `cronport check` and
    /// notifications.
    pub fn destinations(&self) -> Arc<Named> {
        self.destinations.snapshot()
    }

    /// The registry behind [`Pipeline::destinations`], shared: what is
    /// added to it (destinations made in the console) every run sees.
    pub fn registry(&self) -> &Registry {
        &self.destinations
    }

    /// Whether a job's source would work with `ctx` (for `cronport
    /// check`): see [`super::source::check`].
    pub async fn check_source(
        &self,
        spec: &SourceSpec,
        ctx: &RunContext,
    ) -> Result<String, SourceError> {
        super::source::check::check(spec, &self.connections, &self.base, ctx).await
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

    /// Run one export and drop its file: [`Pipeline::export`] for callers
    /// that keep nothing.
    pub async fn run(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        destinations: &[String],
        ctx: &RunContext,
    ) -> Result<ExportOutput, ExportError> {
        self.export(source, format, destinations, ctx)
            .await?
            .into_output()
    }

    /// Render one export and deliver it, and hand back the file and what
    /// happened at each destination (a destination's refusal is in the
    /// outcome, not an error). Cancel by dropping the future: the spool file
    /// is removed and deliveries already made are taken back.
    pub async fn export(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        destinations: &[String],
        ctx: &RunContext,
    ) -> Result<Export, ExportError> {
        self.targets(destinations)?;
        let rendered = self
            .render_file(source, format, ctx, Measure::default())
            .await?;
        let outcome = self.deliver(&rendered, destinations, ctx).await?;
        Ok(Export { rendered, outcome })
    }

    /// The named destinations, in order, or the first name the config
    /// lacks.
    pub fn targets(&self, destinations: &[String]) -> Result<Vec<Target>, ExportError> {
        destinations
            .iter()
            .map(|name| {
                let dest = self
                    .destinations
                    .get(name)
                    .ok_or_else(|| ExportError::UnknownDestination(name.clone()))?;
                Ok((name.clone(), dest))
            })
            .collect()
    }

    /// Render one export into the spool and deliver nothing; with
    /// `measure`, also the content hash of the rendered bytes and the
    /// columns' types. Cancel by dropping the future: the spool file is
    /// removed.
    pub async fn render_file(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        ctx: &RunContext,
        measure: Measure,
    ) -> Result<Rendered, ExportError> {
        let extension = format.extension();
        // Off the runtime's workers: making sure of the folder and creating
        // the file wait on the disk (see `export::blocking`).
        let (spool, for_file, ext) = (self.spool.clone(), ctx.clone(), extension.clone());
        let (file, out) = crate::export::blocking::run(move || {
            let file = SpoolFile::create(&spool, &for_file, &ext)?;
            let out = File::create(file.path())?;
            Ok((file, out))
        })
        .await
        .and_then(|created| created)
        .map_err(|error| ExportError::Spool {
            path: self.spool.display().to_string(),
            error,
        })?;
        let (rows, bytes, content_hash, schema) =
            self.render(source, format, ctx, out, measure).await?;
        tracing::info!("rendered {rows} rows, {bytes} bytes of {}", format.kind());
        Ok(Rendered {
            file: Some(file),
            extension,
            rows,
            bytes,
            content_hash,
            schema,
        })
    }

    /// Deliver a rendered file to `destinations` in order and report what
    /// happened at each (see [`delivery::deliver_all`]). Cancel by dropping
    /// the future: deliveries already made are taken back.
    pub async fn deliver(
        &self,
        rendered: &Rendered,
        destinations: &[String],
        ctx: &RunContext,
    ) -> Result<Outcome, ExportError> {
        let targets = self.targets(destinations)?;
        let Some(file) = &rendered.file else {
            return Err(ExportError::Spool {
                path: self.spool.display().to_string(),
                error: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "nothing was rendered to deliver",
                ),
            });
        };
        let mut artifact = Artifact {
            path: file.path().to_path_buf(),
            extension: rendered.extension.clone(),
            bytes: rendered.bytes,
            rows: rendered.rows,
            delivered: Vec::new(),
        };
        Ok(delivery::deliver_all(&targets, &mut artifact, ctx).await)
    }

    async fn render(
        &self,
        source: &SourceSpec,
        format: &FormatSpec,
        ctx: &RunContext,
        file: File,
        measure: Measure,
    ) -> Result<(u64, u64, Option<String>, Option<Schema>), ExportError> {
        let hash = measure.hash;
        let mut stream = self.source(source).open(ctx).await?;
        let counter = Arc::new(AtomicU64::new(0));
        let digest = hash.then(|| Arc::new(std::sync::Mutex::new(None)));
        // Hashed below the buffer, in its 256 KiB flushes: the encoder's
        // writes are a few bytes each, and hashing is cheapest in big chunks.
        let out = CountingWriter {
            inner: BufWriter::with_capacity(
                256 * 1024,
                Hashing {
                    inner: file,
                    state: digest.as_ref().map(|_| Box::new(Xxh3::new())),
                    slot: digest.clone(),
                },
            ),
            count: counter.clone(),
        };
        let mut encoder = format.encoder(Box::new(out), ctx)?;
        encoder.begin(stream.columns())?;
        let mut probe = measure.schema.then(|| SchemaProbe::new(stream.columns()));
        // Encoding is CPU and blocking I/O, so it runs on a thread of its
        // own, which also pulls the batches: a source reading on its own
        // thread (SQLite) hands each batch straight to the encoder, one
        // channel hop, and reading and encoding run on two cores at once. The
        // source's bounded channel makes a slow disk slow the source instead
        // of filling memory. Not on tokio's blocking pool: an encoder there
        // waiting for a reader queued behind it on the same pool never gets
        // it, so the pool could not be capped (see `main`, `export::thread`)
        // and a thousand runs at once would leave a thousand idle threads
        // behind. Dropping this future cancels the token, which drops the
        // stream and so stops the source.
        let cancel = CancellationToken::new();
        let _cancel_on_drop = cancel.clone().drop_guard();
        let runtime = tokio::runtime::Handle::current();
        let writer = super::thread::spawn("cronport-encode", move || -> Result<_, ExportError> {
            let mut rows = 0u64;
            loop {
                let next = runtime.block_on(async {
                    tokio::select! {
                        () = cancel.cancelled() => None,
                        batch = stream.next_batch() => Some(batch),
                    }
                });
                let Some(batch) = next else {
                    return Ok((rows, None)); // cancelled: nobody reads the result
                };
                let Some(batch) = batch? else {
                    break;
                };
                rows += batch.len() as u64;
                if let Some(probe) = &mut probe {
                    probe.observe(&batch);
                }
                encoder.write_rows(&batch)?;
                stream.recycle(batch);
            }
            encoder.finish()?;
            runtime.block_on(stream.finish())?;
            Ok((rows, probe.map(|p| p.schema())))
        });
        let (rows, schema) = writer
            .await
            .map_err(|e| FormatError::Io(std::io::Error::other(e)))??;
        // The encoder (and with it the writer) is dropped once finished,
        // which is when the digest is settled.
        let content_hash = match digest {
            Some(slot) => Some(slot.lock().ok().and_then(|mut d| d.take()).ok_or_else(|| {
                FormatError::Io(std::io::Error::other(
                    "the content hash was not settled: the encoder still holds its writer",
                ))
            })?),
            None => None,
        };
        Ok((rows, counter.load(Ordering::Relaxed), content_hash, schema))
    }
}

/// Counts the bytes on their way to the file, so the file need not be
/// looked at again.
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

/// When asked, a content hash over the bytes written, so the file need not be
/// read again; the digest is handed over when the writer is dropped (the
/// encoder owns the writer and drops it when it finishes, after the buffer
/// above has flushed into this).
struct Hashing<W> {
    inner: W,
    state: Option<Box<Xxh3>>,
    slot: Option<Arc<std::sync::Mutex<Option<String>>>>,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(state) = &mut self.state {
            state.update(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W> Drop for Hashing<W> {
    fn drop(&mut self) {
        let (Some(state), Some(slot)) = (self.state.take(), &self.slot) else {
            return;
        };
        if let Ok(mut slot) = slot.lock() {
            *slot = Some(content_hash(state.digest128()));
        }
    }
}

/// How a content hash is written down: the algorithm, then the digest, so
/// a hash made another way never compares equal by accident.
pub fn content_hash(digest: u128) -> String {
    format!("xxh3:{digest:032x}")
}

/// A content hash cut to the algorithm and 12 hex digits: enough to tell
/// runs apart in a log line or the run view.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..17).unwrap_or(hash)
}

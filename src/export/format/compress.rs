//! Optional `gzip` or `zip` compression of any output.
//!
//! The format's encoder writes into a [`Sink`] that shares the compressor
//! with [`Compressor`]; once the encoder has flushed and let go of its
//! writer, the compressor writes the gzip trailer or the zip directory.

use std::io::Write;
use std::sync::{Arc, Mutex};

use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

use super::FormatError;

/// `compression = "gzip"` or `"zip"` on any format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// One gzip stream (`.gz` appended to the extension).
    Gzip,
    /// A zip archive holding the one file (`.zip`).
    Zip,
}

type Out = Box<dyn Write + Send>;

enum Inner {
    Gzip(Box<GzEncoder<Out>>),
    Zip(Box<ZipWriter<StreamWriter<Out>>>),
}

impl Write for Inner {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Inner::Gzip(w) => w.write(buf),
            Inner::Zip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Inner::Gzip(w) => w.flush(),
            Inner::Zip(w) => w.flush(),
        }
    }
}

/// The encoder's end of a compressed output. The lock is taken once per
/// buffered block, not per row, so it costs nothing measurable.
pub struct Sink(Arc<Mutex<Option<Inner>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut guard = self
            .0
            .lock()
            .map_err(|_| std::io::Error::other("compressor poisoned"))?;
        match guard.as_mut() {
            Some(inner) => inner.write(buf),
            None => Err(std::io::Error::other("compressed output already finished")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock() {
            Ok(mut guard) => guard.as_mut().map_or(Ok(()), |inner| inner.flush()),
            Err(_) => Err(std::io::Error::other("compressor poisoned")),
        }
    }
}

/// Finishes the compressed stream after the encoder is done.
pub struct Compressor(Arc<Mutex<Option<Inner>>>);

impl Compressor {
    /// Write the trailer (gzip) or central directory (zip) and flush.
    pub fn finish(self) -> Result<(), FormatError> {
        let inner = self
            .0
            .lock()
            .map_err(|_| FormatError::Data("compressor poisoned".into()))?
            .take();
        match inner {
            Some(Inner::Gzip(w)) => {
                let mut out = w.finish()?;
                out.flush()?;
            }
            Some(Inner::Zip(w)) => {
                let mut out = w
                    .finish()
                    .map_err(|e| FormatError::Io(std::io::Error::other(e)))?
                    .into_inner();
                out.flush()?;
            }
            None => {}
        }
        Ok(())
    }
}

/// Wrap `out`: the encoder writes to the returned [`Sink`]; `entry` names
/// the file inside a zip archive.
pub fn wrap(
    out: Out,
    compression: Compression,
    entry: &str,
) -> Result<(Sink, Compressor), FormatError> {
    let inner = match compression {
        Compression::Gzip => {
            Inner::Gzip(Box::new(GzEncoder::new(out, flate2::Compression::fast())))
        }
        Compression::Zip => {
            let mut zip = ZipWriter::new_stream(out);
            let options = SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(1))
                .large_file(true);
            zip.start_file(entry, options)
                .map_err(|e| FormatError::Io(std::io::Error::other(e)))?;
            Inner::Zip(Box::new(zip))
        }
    };
    let shared = Arc::new(Mutex::new(Some(inner)));
    Ok((Sink(shared.clone()), Compressor(shared)))
}

//! Finished pages wait in an anonymous temporary file until the document
//! is assembled: the fonts' subsets (and so the glyph numbering the pages
//! need) are known only after the last row, and holding the pages in
//! memory until then is what bounded the report's size before.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};

/// Where one piece of content sits in the spill file.
#[derive(Clone, Copy, Debug)]
pub struct Slot {
    offset: u64,
    len: usize,
}

/// An append-only temporary file of content pieces, read back by slot.
pub struct Spill {
    file: BufWriter<File>,
    end: u64,
}

impl Spill {
    /// A new spill file; it is unlinked already, so it goes away with the
    /// process whatever happens.
    pub fn new() -> io::Result<Self> {
        Ok(Spill {
            file: BufWriter::with_capacity(1 << 20, tempfile::tempfile()?),
            end: 0,
        })
    }

    /// Append one piece.
    pub fn push(&mut self, bytes: &[u8]) -> io::Result<Slot> {
        let offset = self.end;
        self.file.write_all(bytes)?;
        self.end += bytes.len() as u64;
        Ok(Slot {
            offset,
            len: bytes.len(),
        })
    }

    /// Switch to reading: everything written is flushed.
    pub fn into_reader(self) -> io::Result<SpillReader> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        Ok(SpillReader { file })
    }
}

/// Reads pieces back from a finished spill file.
pub struct SpillReader {
    file: File,
}

impl SpillReader {
    /// The piece at `slot`, into `buf` (replacing its contents).
    pub fn read(&mut self, slot: Slot, buf: &mut Vec<u8>) -> io::Result<()> {
        buf.clear();
        buf.resize(slot.len, 0);
        self.file.seek(SeekFrom::Start(slot.offset))?;
        self.file.read_exact(buf)
    }
}

//! The spool file one attempt renders into before delivering it. Its name
//! carries the run, the attempt and the process, so a file left behind by
//! a process that died can be told from one still being written.

use std::path::{Path, PathBuf};

use super::RunContext;

/// The rendered file of one attempt, removed when dropped unless it was
/// moved elsewhere with [`SpoolFile::persist`]: an attempt that fails or is
/// cancelled leaves nothing in the spool.
#[derive(Debug)]
pub struct SpoolFile {
    path: PathBuf,
    /// Cleared once the file has been moved away.
    owned: bool,
}

impl SpoolFile {
    /// The file for attempt `ctx.attempt` of run `ctx.run_id` in `folder`,
    /// which is created if needed (the file itself is not).
    pub fn create(folder: &Path, ctx: &RunContext, extension: &str) -> std::io::Result<SpoolFile> {
        std::fs::create_dir_all(folder)?;
        let name = format!(
            "run-{}-{}-{}.{extension}",
            ctx.run_id,
            ctx.attempt,
            std::process::id()
        );
        Ok(SpoolFile {
            path: folder.join(name),
            owned: true,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Move the file to `to` (on the same file system); from then on it is
    /// not removed on drop. If the move fails, dropping still removes it.
    pub fn persist(mut self, to: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, to)?;
        self.owned = false;
        Ok(())
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        if self.owned {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The process that wrote the spool file named `name`, if the name is one
/// of [`SpoolFile`]'s (`run-{run}-{attempt}-{pid}.{ext}`).
pub fn writer_pid(name: &str) -> Option<u32> {
    let stem = name.strip_prefix("run-")?.split_once('.')?.0;
    let mut parts = stem.split('-');
    let (run, attempt, pid) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    run.parse::<i64>().ok()?;
    attempt.parse::<u32>().ok()?;
    pid.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::writer_pid;

    #[test]
    fn the_writer_is_read_from_the_name() {
        assert_eq!(writer_pid("run-12-3-4567.csv"), Some(4567));
        assert_eq!(writer_pid("run-12-3-4567.csv.gz"), Some(4567));
        for other in [
            "run-12.csv",
            "run-12.json",
            "run-1-2.csv",
            "x-1-2-3.csv",
            "run-a-2-3.csv",
        ] {
            assert_eq!(writer_pid(other), None, "{other}");
        }
    }
}

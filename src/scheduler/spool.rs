//! What a store keeps on this host's disk, under
//! `{spool_dir}/{store identity}/`: the files attempts render into, and
//! `kept/` (see [`super::kept`]). Keyed by the store, not by the host: the
//! default spool folder is one per user and host, and two stores using it
//! must never see each other's files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::instance::process_exists;
use crate::export::spool::writer_pid;

/// One store's part of a spool folder.
#[derive(Clone, Debug)]
pub struct StoreSpool {
    /// The shared spool folder (`[scheduler] spool_dir`).
    root: PathBuf,
    /// `root/{identity}`.
    dir: PathBuf,
    identity: Arc<str>,
}

impl StoreSpool {
    /// The part of `spool_dir` that belongs to the store `identity` (see
    /// [`Store::identity`](crate::store::Store::identity), which vouches
    /// that it is a plain folder name).
    pub fn new(spool_dir: &Path, identity: &str) -> StoreSpool {
        StoreSpool {
            root: spool_dir.to_path_buf(),
            dir: spool_dir.join(identity),
            identity: identity.into(),
        }
    }

    /// Where this store's attempts render.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The store's identity.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Where this store's outputs are kept for `runs redeliver`.
    pub fn kept_dir(&self) -> PathBuf {
        self.dir.join("kept")
    }

    /// Where every store kept its outputs before stores had folders; only
    /// pruned, never read.
    pub(crate) fn legacy_kept_dir(&self) -> PathBuf {
        self.root.join("kept")
    }

    /// Remove the attempt files whose writing process is gone: a process
    /// killed while rendering leaves its file behind (`Drop` never ran).
    /// Looks in this store's folder, and loose in the shared folder, where
    /// every store's attempts rendered before stores had folders. A file of
    /// a live process is left alone, whoever it is: other stores' processes
    /// and this store's other instances may share the folder. Returns how
    /// many files were removed.
    ///
    /// A process id can be reused: a file whose writer died long ago, with
    /// its id since taken by an unrelated process, stays until that one
    /// ends. That errs on the side of keeping a live writer's file.
    pub fn sweep_abandoned(&self) -> usize {
        let me = std::process::id();
        let mut removed = 0;
        for folder in [&self.dir, &self.root] {
            let Ok(entries) = std::fs::read_dir(folder) else {
                continue; // not created yet: nothing left behind
            };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let Some(pid) = name.to_str().and_then(writer_pid) else {
                    continue;
                };
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if pid == me || !is_file || process_exists(pid) {
                    continue;
                }
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => tracing::warn!(
                        "could not remove {}, left by process {pid}, which is gone: {e}",
                        entry.path().display()
                    ),
                }
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::StoreSpool;

    /// A process id that is not running: a child that has exited and been
    /// reaped.
    fn dead_pid() -> u32 {
        let mut child = std::process::Command::new("true")
            .spawn()
            .expect("spawn true");
        let pid = child.id();
        child.wait().expect("wait");
        pid
    }

    #[test]
    fn only_dead_writers_files_are_swept() {
        let root = tempfile::tempdir().expect("temp dir");
        let spool = StoreSpool::new(root.path(), "0123456789abcdef0123456789abcdef");
        std::fs::create_dir_all(spool.kept_dir()).expect("folders");
        let dead = dead_pid();
        let live = std::process::id();
        let parent = std::os::unix::process::parent_id();
        let files = [
            spool.dir().join(format!("run-1-1-{dead}.csv")),
            root.path().join(format!("run-2-1-{dead}.csv.gz")),
            spool.dir().join(format!("run-3-1-{live}.csv")),
            spool.dir().join(format!("run-4-2-{parent}.csv")),
            spool.kept_dir().join(format!("run-5-1-{dead}.csv")),
            spool.dir().join("notes.txt"),
        ];
        for file in &files {
            std::fs::write(file, "x").expect("write");
        }
        assert_eq!(spool.sweep_abandoned(), 2);
        let left: Vec<bool> = files.iter().map(|f| f.exists()).collect();
        assert_eq!(left, [false, false, true, true, true, true]);
    }
}

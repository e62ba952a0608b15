//! Outputs kept for `runs redeliver`: each run's rendered file, in its
//! store's spool folder (`{spool_dir}/{store}/kept/run-{id}.{ext}`), beside
//! a record of whose it is (`run-{id}.kept`).
//!
//! The folder alone keeps two stores apart while nobody moves files around.
//! The record is for when someone does: it names the store, the run, its
//! job and slot, and the file's inode, size and time, so a file copied or
//! moved in from another store (or another run, or over this one) is
//! refused instead of sent. Expired outputs are removed by a daily pass
//! over the folder, never per run.

use std::collections::HashSet;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::spool::StoreSpool;
use crate::export::spool::SpoolFile;

/// How often the kept folders are pruned.
pub const PRUNE_EVERY: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The record's suffix; a data file is `run-{id}.{ext}` with `ext` from
/// the format, none of which is `kept`.
const RECORD: &str = "kept";

/// Holds when the folder was last pruned, for processes that start often
/// (`jobs run` from cron) to prune once a day, not once per process.
const PRUNED_MARKER: &str = ".pruned";

/// One store's kept outputs on this host.
#[derive(Clone, Debug)]
pub struct Kept {
    dir: PathBuf,
    legacy: PathBuf,
    store: String,
    days: u32,
}

/// Which run a kept output is for: what the record must match.
#[derive(Clone, Debug)]
pub struct RunKey<'a> {
    /// The run's id.
    pub run: i64,
    /// Its job's name.
    pub job: &'a str,
    /// The run's fire id (job and slot), as destinations saw it.
    pub fire_id: &'a str,
}

/// A kept output that passed every check, ready to send again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptOutput {
    /// The file.
    pub path: PathBuf,
    /// Its extension (`csv`, `csv.gz`).
    pub extension: String,
    /// Rows in it.
    pub rows: u64,
    /// Its size.
    pub bytes: u64,
    /// The attempt that rendered it.
    pub attempt: u32,
}

/// Why a run's output cannot be kept or sent again. Every message names the
/// run.
#[derive(Debug, thiserror::Error)]
pub enum KeptError {
    /// `spool_days = 0`.
    #[error(
        "run {run}: outputs are not kept ([scheduler] spool_days = 0), so there is none to send"
    )]
    Off {
        /// The run.
        run: i64,
    },
    /// Never kept, or already removed.
    #[error(
        "run {run} has no kept output in {dir} (outputs are kept {days} day(s) after the run; \
         a run that failed before rendering has none)"
    )]
    Missing {
        /// The run.
        run: i64,
        /// Where it was looked for.
        dir: String,
        /// `spool_days`.
        days: u32,
    },
    /// Older than `spool_days`; the daily pass has not removed it yet.
    #[error("run {run}: its output, kept at {kept_at}, expired after {days} day(s) (spool_days)")]
    Expired {
        /// The run.
        run: i64,
        /// When it was kept.
        kept_at: DateTime<Utc>,
        /// `spool_days`.
        days: u32,
    },
    /// The file there is not the one this store kept for this run.
    #[error("run {run}: refusing to send its kept output ({path}): {why}")]
    NotOurs {
        /// The run.
        run: i64,
        /// The file.
        path: String,
        /// What did not match.
        why: String,
    },
    /// The disk failed.
    #[error("run {run}: {path}: {error}")]
    Io {
        /// The run.
        run: i64,
        /// The file or folder.
        path: String,
        /// The OS error.
        error: std::io::Error,
    },
}

/// What is written beside a kept output.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    store: String,
    run: i64,
    job: String,
    fire_id: String,
    attempt: u32,
    extension: String,
    rows: u64,
    bytes: u64,
    kept_at: DateTime<Utc>,
    /// A held run's output is kept until its hold expires, whatever
    /// `spool_days` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    held_until: Option<DateTime<Utc>>,
    file: Stamp,
}

impl Record {
    /// Whether the output is past keeping at `now`: older than `days`
    /// days, and not held beyond that.
    fn expired(&self, days: u32, now: DateTime<Utc>) -> bool {
        expired(self.kept_at, days, now) && self.held_until.is_none_or(|until| now >= until)
    }
}

/// Which file this is: a copy has another inode, a moved-in file another
/// inode too, a file written over this one another size or time.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime_ns: i128,
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        }
    }
}

/// A run that just rendered, as the keeper needs it.
pub struct KeptRun<'a> {
    /// Which run.
    pub key: RunKey<'a>,
    /// Its attempt.
    pub attempt: u32,
    /// The file's extension.
    pub extension: &'a str,
    /// Rows rendered.
    pub rows: u64,
    /// Bytes rendered.
    pub bytes: u64,
    /// For a held run: kept at least until then, even with `spool_days = 0`.
    pub held_until: Option<DateTime<Utc>>,
}

impl Kept {
    /// The kept outputs of `spool`'s store, kept `days` days (0: none).
    pub fn new(spool: &StoreSpool, days: u32) -> Kept {
        Kept {
            dir: spool.kept_dir(),
            legacy: spool.legacy_kept_dir(),
            store: spool.identity().to_owned(),
            days,
        }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many days outputs are kept.
    pub fn days(&self) -> u32 {
        self.days
    }

    fn record_path(&self, run: i64) -> PathBuf {
        self.dir.join(format!("run-{run}.{RECORD}"))
    }

    fn io(&self, run: i64, path: &Path) -> impl FnOnce(std::io::Error) -> KeptError {
        let path = path.display().to_string();
        move |error| KeptError::Io { run, path, error }
    }

    /// Keep `file` as `run`'s output, replacing an earlier attempt's. The
    /// data file is moved in first and the record written after it, so a
    /// record always describes a complete file; the daily pass removes a
    /// file whose record was never written.
    pub fn keep(
        &self,
        file: SpoolFile,
        run: &KeptRun<'_>,
        now: DateTime<Utc>,
    ) -> Result<PathBuf, KeptError> {
        let id = run.key.run;
        if self.days == 0 && run.held_until.is_none() {
            return Err(KeptError::Off { run: id });
        }
        std::fs::create_dir_all(&self.dir).map_err(self.io(id, &self.dir))?;
        self.remove(id);
        let data = self.dir.join(format!("run-{id}.{}", run.extension));
        file.persist(&data).map_err(self.io(id, &data))?;
        let written = std::fs::symlink_metadata(&data)
            .map_err(self.io(id, &data))
            .and_then(|meta| {
                let record = Record {
                    store: self.store.clone(),
                    run: id,
                    job: run.key.job.to_owned(),
                    fire_id: run.key.fire_id.to_owned(),
                    attempt: run.attempt,
                    extension: run.extension.to_owned(),
                    rows: run.rows,
                    bytes: run.bytes,
                    kept_at: now,
                    held_until: run.held_until,
                    file: Stamp::of(&meta),
                };
                let path = self.record_path(id);
                write_atomically(&path, &record).map_err(self.io(id, &path))
            });
        if let Err(e) = written {
            let _ = std::fs::remove_file(&data);
            return Err(e);
        }
        Ok(data)
    }

    /// Remove `run`'s kept output and record, if any (a discarded held
    /// run's, say).
    pub fn remove(&self, run: i64) {
        if let Ok(record) = self.read_record(run)
            && safe_extension(&record.extension)
        {
            let _ = std::fs::remove_file(self.dir.join(format!("run-{run}.{}", record.extension)));
        }
        let _ = std::fs::remove_file(self.record_path(run));
    }

    fn read_record(&self, run: i64) -> Result<Record, KeptError> {
        let path = self.record_path(run);
        let text = match std::fs::read(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(KeptError::Missing {
                    run,
                    dir: self.dir.display().to_string(),
                    days: self.days,
                });
            }
            Err(e) => return Err(self.io(run, &path)(e)),
        };
        serde_json::from_slice(&text).map_err(|e| KeptError::NotOurs {
            run,
            path: path.display().to_string(),
            why: format!("its record is unreadable ({e}), so whose it is cannot be told"),
        })
    }

    /// The output kept for `key`, if this store kept it for that run, it has
    /// not changed since, and it has not expired at `now`.
    pub fn find(&self, key: &RunKey<'_>, now: DateTime<Utc>) -> Result<KeptOutput, KeptError> {
        let run = key.run;
        let record = match self.read_record(run) {
            Err(KeptError::Missing { .. }) if self.days == 0 => {
                return Err(KeptError::Off { run });
            }
            other => other?,
        };
        if self.days == 0 && record.held_until.is_none() {
            return Err(KeptError::Off { run });
        }
        let refuse = |path: &Path, why: String| KeptError::NotOurs {
            run,
            path: path.display().to_string(),
            why,
        };
        let record_path = self.record_path(run);
        if record.store != self.store {
            return Err(refuse(
                &record_path,
                format!(
                    "it was kept by another store ({}), not this one ({})",
                    record.store, self.store
                ),
            ));
        }
        if record.run != run || record.job != key.job || record.fire_id != key.fire_id {
            return Err(refuse(
                &record_path,
                format!(
                    "it was kept for run {} ({}), not for this run ({})",
                    record.run, record.fire_id, key.fire_id
                ),
            ));
        }
        if !safe_extension(&record.extension) {
            return Err(refuse(
                &record_path,
                format!("its record names the extension {:?}", record.extension),
            ));
        }
        if record.expired(self.days, now) {
            return Err(KeptError::Expired {
                run,
                kept_at: record.kept_at,
                days: self.days,
            });
        }
        let data = self.dir.join(format!("run-{run}.{}", record.extension));
        let meta = match std::fs::symlink_metadata(&data) {
            Ok(meta) => meta,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(KeptError::Missing {
                    run,
                    dir: self.dir.display().to_string(),
                    days: self.days,
                });
            }
            Err(e) => return Err(self.io(run, &data)(e)),
        };
        if !meta.is_file() || Stamp::of(&meta) != record.file {
            return Err(refuse(
                &data,
                "it is not the file this store kept for the run (it was copied, moved in \
                 or written over since: its inode, size or time differ)"
                    .to_owned(),
            ));
        }
        Ok(KeptOutput {
            path: data,
            extension: record.extension,
            rows: record.rows,
            bytes: meta.len(),
            attempt: record.attempt,
        })
    }

    /// Whether the daily pass is due: no process of this store on this
    /// host has pruned in the last [`PRUNE_EVERY`]. One small read.
    pub fn prune_due(&self, now: DateTime<Utc>) -> bool {
        std::fs::read_to_string(self.dir.join(PRUNED_MARKER))
            .ok()
            .and_then(|t| DateTime::parse_from_rfc3339(t.trim()).ok())
            .is_none_or(|last| now.signed_duration_since(last) >= PRUNE_EVERY)
    }

    /// The daily pass: remove the outputs kept longer than `spool_days`
    /// (all of them when it is 0), files without a record older than that
    /// (a keep cut short), and, by age, what the shared `kept/` folder
    /// still holds from before stores had folders. Returns how many files
    /// were removed.
    pub fn prune(&self, now: DateTime<Utc>) -> usize {
        let mut removed = self.prune_own(now);
        removed += prune_by_age(&self.legacy, self.days, now);
        if self.dir.is_dir() {
            let marker = self.dir.join(PRUNED_MARKER);
            if let Err(e) = std::fs::write(&marker, now.to_rfc3339()) {
                tracing::warn!("{}: {e}", marker.display());
            }
        }
        removed
    }

    fn prune_own(&self, now: DateTime<Utc>) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return 0;
        };
        let names: Vec<String> = entries
            .flatten()
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n != PRUNED_MARKER)
            .collect();
        // Runs whose record says they are within spool_days, and runs whose
        // record says they are not; files of other runs (no record, or an
        // unreadable one) go by their age.
        let mut live = HashSet::new();
        let mut past = HashSet::new();
        for run in names.iter().filter_map(|n| record_run(n)) {
            if let Ok(record) = self.read_record(run) {
                if record.expired(self.days, now) {
                    past.insert(run);
                } else {
                    live.insert(run);
                }
            }
        }
        let mut removed = 0;
        for name in &names {
            let run = name
                .strip_prefix("run-")
                .and_then(|n| n.split_once('.'))
                .and_then(|(id, _)| id.parse::<i64>().ok());
            if run.is_some_and(|run| live.contains(&run)) {
                continue;
            }
            let path = self.dir.join(name);
            let due =
                run.is_some_and(|run| past.contains(&run)) || older_than(&path, self.days, now);
            if due && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        removed
    }
}

/// The run a record file is for: `run-{id}.kept`.
fn record_run(name: &str) -> Option<i64> {
    name.strip_prefix("run-")?
        .strip_suffix(RECORD)?
        .strip_suffix('.')?
        .parse()
        .ok()
}

/// Whether something kept at `kept_at` is past `days` days at `now`.
fn expired(kept_at: DateTime<Utc>, days: u32, now: DateTime<Utc>) -> bool {
    now.signed_duration_since(kept_at) >= chrono::TimeDelta::days(i64::from(days))
}

/// Whether the file at `path` was last written more than `days` days
/// before `now`.
fn older_than(path: &Path, days: u32, now: DateTime<Utc>) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .is_ok_and(|t| expired(DateTime::<Utc>::from(t), days, now))
}

/// Remove the files in `dir` older than `days` days.
fn prune_by_age(dir: &Path, days: u32, now: DateTime<Utc>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter(|e| older_than(&e.path(), days, now))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// An extension a format could have made (`csv`, `csv.gz`): nothing that
/// could lead out of the folder.
fn safe_extension(ext: &str) -> bool {
    !ext.is_empty()
        && ext != RECORD
        && ext
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Write `record` to a temporary name and rename it into place, so a reader
/// never sees half a record.
fn write_atomically(path: &Path, record: &Record) -> std::io::Result<()> {
    let text = serde_json::to_vec(record).map_err(std::io::Error::other)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&temp, text)?;
    std::fs::rename(&temp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&temp);
    })
}

#[cfg(test)]
mod tests;

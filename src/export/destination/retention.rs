//! Retention for the `local` destination: exports of a job older than
//! `archive_days` go into a monthly zip, older than `keep_days` are removed.
//!
//! A file counts as the job's only if the destination's path pattern renders
//! to it for that job (any date, run and extension), so files of other jobs
//! and anything else under the root are never touched.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Datelike as _, Utc};

use super::pattern::{PathPattern, sanitize};

/// Where monthly archives live, under the root: `archive/JOB/YYYY-MM.zip`.
pub const ARCHIVE_FOLDER: &str = "archive";

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Exports removed.
    pub removed: usize,
    /// Exports moved into archives.
    pub archived: usize,
    /// Archives removed.
    pub archives_removed: usize,
}

/// The job's policy.
pub struct Policy<'a> {
    /// The destination root.
    pub root: &'a Path,
    /// Its path pattern.
    pub pattern: &'a PathPattern,
    /// The job.
    pub job: &'a str,
    /// Remove exports (and archives of months) older than this.
    pub keep_days: Option<u32>,
    /// Zip exports older than this into monthly archives.
    pub archive_days: Option<u32>,
}

fn days(n: u32) -> Duration {
    Duration::from_secs(u64::from(n) * 86_400)
}

/// Apply `policy` as of `now`.
pub fn apply(policy: &Policy<'_>, now: SystemTime) -> io::Result<Pruned> {
    let mut pruned = Pruned::default();
    if policy.keep_days.is_none() && policy.archive_days.is_none() {
        return Ok(pruned);
    }
    let archive_dir = policy.root.join(ARCHIVE_FOLDER).join(sanitize(policy.job));
    let mut files = Vec::new();
    walk(
        policy.root,
        policy.root,
        &policy.root.join(ARCHIVE_FOLDER),
        &mut files,
    )?;
    let mut to_archive: BTreeMap<String, Vec<(PathBuf, String)>> = BTreeMap::new();
    for (path, relative) in files {
        if !policy.pattern.renders_for(policy.job, &relative) {
            continue;
        }
        let modified = fs::symlink_metadata(&path)?.modified()?;
        let age = now.duration_since(modified).unwrap_or_default();
        if policy.keep_days.is_some_and(|d| age > days(d)) {
            fs::remove_file(&path)?;
            remove_empty_parents(&path, policy.root);
            pruned.removed += 1;
        } else if policy.archive_days.is_some_and(|d| age > days(d)) {
            let month = DateTime::<Utc>::from(modified).format("%Y-%m").to_string();
            to_archive.entry(month).or_default().push((path, relative));
        }
    }
    for (month, entries) in to_archive {
        let archive = archive_dir.join(format!("{month}.zip"));
        add_to_archive(&archive, &entries)?;
        for (path, _) in &entries {
            fs::remove_file(path)?;
            remove_empty_parents(path, policy.root);
        }
        pruned.archived += entries.len();
    }
    if let Some(keep) = policy.keep_days {
        pruned.archives_removed = prune_archives(&archive_dir, keep, now)?;
    }
    Ok(pruned)
}

/// Every regular file under `dir` (symlinks are not followed), with its
/// path relative to `root` in `/` form; the archive folder is left out.
fn walk(root: &Path, dir: &Path, skip: &Path, out: &mut Vec<(PathBuf, String)>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if path != skip {
                walk(root, &path, skip, out)?;
            }
        } else if kind.is_file() {
            let relative = path
                .strip_prefix(root)
                .map(|p| {
                    p.iter()
                        .map(|c| c.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            out.push((path, relative));
        }
    }
    Ok(())
}

/// Remove folders emptied by a removal, up to (not including) the root.
fn remove_empty_parents(file: &Path, root: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || !d.starts_with(root) || fs::remove_dir(d).is_err() {
            return;
        }
        dir = d.parent();
    }
}

/// Add files to a monthly zip: the old archive and the new entries are
/// written to a temporary file that replaces it, so a crash leaves the old
/// archive or the new one, never half of one.
fn add_to_archive(archive: &Path, entries: &[(PathBuf, String)]) -> io::Result<()> {
    let folder = archive.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(folder)?;
    let temp = folder.join(format!(
        ".{}.cronport-{}.tmp",
        archive
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let result = (|| -> io::Result<()> {
        let file = File::create(&temp)?;
        let mut writer = zip::ZipWriter::new(file);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let mut names = std::collections::HashSet::new();
        if archive.exists() {
            let mut old = zip::ZipArchive::new(File::open(archive)?).map_err(io::Error::other)?;
            for i in 0..old.len() {
                let entry = old.by_index_raw(i).map_err(io::Error::other)?;
                names.insert(entry.name().map_err(io::Error::other)?.to_string());
                writer.raw_copy_file(entry).map_err(io::Error::other)?;
            }
        }
        for (path, relative) in entries {
            // A file re-exported under a name already archived keeps both.
            let mut name = relative.clone();
            let mut n = 1;
            while !names.insert(name.clone()) {
                n += 1;
                name = format!("{relative}.{n}");
            }
            writer.start_file(name, options).map_err(io::Error::other)?;
            io::copy(&mut File::open(path)?, &mut writer)?;
        }
        let file = writer.finish().map_err(io::Error::other)?;
        file.sync_all()?;
        fs::rename(&temp, archive)?;
        File::open(folder)?.sync_all()
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Remove monthly archives whose month ended more than `keep` days ago.
fn prune_archives(dir: &Path, keep: u32, now: SystemTime) -> io::Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = DateTime::<Utc>::from(now);
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(month) = name.strip_suffix(".zip") else {
            continue;
        };
        let Ok(first) = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        else {
            continue;
        };
        let next_month = if first.month() == 12 {
            first
                .with_year(first.year() + 1)
                .and_then(|d| d.with_month(1))
        } else {
            first.with_month(first.month() + 1)
        };
        let Some(end) = next_month.and_then(|d| d.and_hms_opt(0, 0, 0)) else {
            continue;
        };
        if now.naive_utc() - end > chrono::Duration::days(i64::from(keep)) {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

//! Keeping, finding and pruning outputs on a real folder.

use std::path::Path;

use chrono::{DateTime, TimeDelta, Utc};

use super::{Kept, KeptError, KeptRun, RunKey};
use crate::export::RunContext;
use crate::export::spool::SpoolFile;
use crate::scheduler::spool::StoreSpool;

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// The wall clock when the test started: file times are real, so the
/// records' times are too.
fn now() -> DateTime<Utc> {
    static NOW: std::sync::OnceLock<DateTime<Utc>> = std::sync::OnceLock::new();
    *NOW.get_or_init(Utc::now)
}

fn key(run: i64) -> RunKey<'static> {
    // Leaked once per call in tests only: the key borrows its strings.
    let fire: &'static str = Box::leak(format!("job@run{run}").into_boxed_str());
    RunKey {
        run,
        job: "job",
        fire_id: fire,
    }
}

/// Render `content` for attempt `attempt` of `run` into `spool`'s folder
/// and keep it at `at`.
fn keep(
    kept: &Kept,
    spool: &StoreSpool,
    run: i64,
    attempt: u32,
    ext: &str,
    content: &str,
    at: DateTime<Utc>,
) {
    let ctx = RunContext {
        job: "job".into(),
        run_id: run,
        attempt,
        scheduled_for: at,
        window_start: at,
        window_end: at,
        timezone: chrono_tz::UTC,
    };
    let file = SpoolFile::create(spool.dir(), &ctx, ext).unwrap();
    std::fs::write(file.path(), content).unwrap();
    let run = KeptRun {
        key: key(run),
        attempt,
        extension: ext,
        rows: 2,
        bytes: content.len() as u64,
        held_until: None,
    };
    kept.keep(file, &run, at).unwrap();
}

fn world(root: &Path, store: &str, days: u32) -> (StoreSpool, Kept) {
    let spool = StoreSpool::new(root, store);
    let kept = Kept::new(&spool, days);
    (spool, kept)
}

#[test]
fn a_kept_output_is_found_and_a_later_attempt_replaces_it() {
    let root = tempfile::tempdir().unwrap();
    let (spool, kept) = world(root.path(), A, 7);
    keep(&kept, &spool, 1, 1, "csv", "a\n1\n", now());
    keep(&kept, &spool, 1, 2, "csv.gz", "a\n1\n2\n", now());
    let found = kept.find(&key(1), now() + TimeDelta::days(6)).unwrap();
    assert_eq!(found.path, kept.dir().join("run-1.csv.gz"));
    assert_eq!((found.attempt, found.rows, found.bytes), (2, 2, 6));
    assert!(
        !kept.dir().join("run-1.csv").exists(),
        "the first attempt's file is gone"
    );
    // The attempt file was moved, not copied: the spool holds nothing else.
    let loose: Vec<_> = std::fs::read_dir(spool.dir())
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .collect();
    assert!(loose.is_empty(), "{loose:?}");
}

#[test]
fn missing_expired_and_switched_off_outputs_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let (spool, kept) = world(root.path(), A, 7);
    assert!(matches!(
        kept.find(&key(1), now()),
        Err(KeptError::Missing { run: 1, .. })
    ));
    keep(&kept, &spool, 1, 1, "csv", "a\n", now());
    let late = kept.find(&key(1), now() + TimeDelta::days(7)).unwrap_err();
    assert!(
        matches!(
            late,
            KeptError::Expired {
                run: 1,
                days: 7,
                ..
            }
        ),
        "{late}"
    );
    assert!(late.to_string().starts_with("run 1: "), "{late}");
    let off = Kept::new(&spool, 0).find(&key(1), now()).unwrap_err();
    assert!(matches!(off, KeptError::Off { run: 1 }), "{off}");
    // A record whose file is gone.
    std::fs::remove_file(kept.dir().join("run-1.csv")).unwrap();
    assert!(matches!(
        kept.find(&key(1), now()),
        Err(KeptError::Missing { run: 1, .. })
    ));
}

#[test]
fn files_from_another_store_or_run_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let (spool_a, kept_a) = world(root.path(), A, 7);
    let (spool_b, kept_b) = world(root.path(), B, 7);
    keep(&kept_a, &spool_a, 1, 1, "csv", "team-a-data\n", now());
    keep(&kept_b, &spool_b, 1, 1, "csv", "team-b-data\n", now());
    keep(&kept_a, &spool_a, 2, 1, "csv", "team-a-run-2\n", now());
    // Two stores on one host: each finds its own run 1.
    let a = kept_a.find(&key(1), now()).unwrap();
    let b = kept_b.find(&key(1), now()).unwrap();
    assert_eq!(std::fs::read_to_string(&a.path).unwrap(), "team-a-data\n");
    assert_eq!(std::fs::read_to_string(&b.path).unwrap(), "team-b-data\n");

    let refused = |kept: &Kept, run: i64, what: &str| {
        let e = kept.find(&key(run), now()).unwrap_err();
        assert!(matches!(e, KeptError::NotOurs { .. }), "{what}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("run {run}: refusing to send its kept output")),
            "{e}"
        );
        e.to_string()
    };
    // B's file copied over A's (same size, new inode).
    std::fs::remove_file(kept_a.dir().join("run-1.csv")).unwrap();
    std::fs::copy(
        kept_b.dir().join("run-1.csv"),
        kept_a.dir().join("run-1.csv"),
    )
    .unwrap();
    refused(&kept_a, 1, "copied data");
    // B's file and record copied in together.
    for name in ["run-1.csv", "run-1.kept"] {
        std::fs::copy(kept_b.dir().join(name), kept_a.dir().join(name)).unwrap();
    }
    assert!(refused(&kept_a, 1, "copied record").contains("another store"));
    // B's file moved over A's run 2 (the inode travels with it).
    std::fs::rename(
        kept_b.dir().join("run-1.csv"),
        kept_a.dir().join("run-2.csv"),
    )
    .unwrap();
    refused(&kept_a, 2, "moved data");
    // A's own record of another run renamed to this one.
    keep(&kept_a, &spool_a, 3, 1, "csv", "team-a-run-3\n", now());
    std::fs::rename(
        kept_a.dir().join("run-3.kept"),
        kept_a.dir().join("run-4.kept"),
    )
    .unwrap();
    std::fs::rename(
        kept_a.dir().join("run-3.csv"),
        kept_a.dir().join("run-4.csv"),
    )
    .unwrap();
    assert!(refused(&kept_a, 4, "renamed record").contains("kept for run 3"));
    // A record that is not JSON.
    std::fs::write(kept_a.dir().join("run-5.kept"), "{").unwrap();
    assert!(refused(&kept_a, 5, "bad record").contains("unreadable"));
}

#[test]
fn the_daily_pass_removes_only_what_expired() {
    let root = tempfile::tempdir().unwrap();
    let (spool, kept) = world(root.path(), A, 7);
    let (other_spool, other) = world(root.path(), B, 7);
    keep(
        &kept,
        &spool,
        1,
        1,
        "csv",
        "old\n",
        now() - TimeDelta::days(8),
    );
    keep(
        &kept,
        &spool,
        2,
        1,
        "csv",
        "fresh\n",
        now() - TimeDelta::days(1),
    );
    keep(
        &other,
        &other_spool,
        1,
        1,
        "csv",
        "b-old\n",
        now() - TimeDelta::days(8),
    );
    // A file without a record: old (a keep cut short long ago) and new (a
    // keep under way).
    let aged = |path: &Path, days: i64| {
        std::fs::write(path, "x").unwrap();
        let when =
            std::time::SystemTime::now() - std::time::Duration::from_secs(86_400 * days as u64);
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    };
    aged(&kept.dir().join("run-3.csv"), 30);
    aged(&kept.dir().join("run-4.csv"), 0);
    // Kept before stores had folders.
    std::fs::create_dir_all(root.path().join("kept")).unwrap();
    aged(&root.path().join("kept/run-1.csv"), 30);
    aged(&root.path().join("kept/run-2.csv"), 1);

    assert!(kept.prune_due(now()));
    // Run 1 (file and record), orphan 3, and the old legacy file.
    assert_eq!(kept.prune(now()), 4);
    let left = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        left(kept.dir()),
        [".pruned", "run-2.csv", "run-2.kept", "run-4.csv"]
    );
    assert_eq!(left(&root.path().join("kept")), ["run-2.csv"]);
    assert_eq!(
        left(other.dir()),
        ["run-1.csv", "run-1.kept"],
        "another store's folder is not touched"
    );
    assert!(!kept.prune_due(now() + TimeDelta::hours(23)));
    assert!(kept.prune_due(now() + TimeDelta::hours(24)));
}

#[test]
fn a_held_output_is_kept_until_its_hold_ends_even_with_spool_days_0() {
    let root = tempfile::tempdir().unwrap();
    let (spool, kept) = world(root.path(), A, 0);
    let ctx = RunContext {
        job: "job".into(),
        run_id: 5,
        attempt: 1,
        scheduled_for: now(),
        window_start: now(),
        window_end: now(),
        timezone: chrono_tz::UTC,
    };
    let file = SpoolFile::create(spool.dir(), &ctx, "csv").unwrap();
    std::fs::write(file.path(), "a\n1\n").unwrap();
    let until = now() + TimeDelta::hours(24);
    let run = KeptRun {
        key: key(5),
        attempt: 1,
        extension: "csv",
        rows: 1,
        bytes: 4,
        held_until: Some(until),
    };
    kept.keep(file, &run, now()).unwrap();
    // Within the hold it is found and survives the daily pass.
    let found = kept.find(&key(5), now() + TimeDelta::hours(23)).unwrap();
    assert_eq!(found.rows, 1);
    assert_eq!(kept.prune(now() + TimeDelta::hours(23)), 0);
    assert!(kept.dir().join("run-5.csv").exists());
    // After it, it has expired and the pass removes file and record.
    assert!(matches!(
        kept.find(&key(5), until),
        Err(KeptError::Expired { run: 5, .. })
    ));
    assert_eq!(kept.prune(until), 2);
    // Discarding removes it at once.
    keep(
        &world(root.path(), A, 7).1,
        &spool,
        6,
        1,
        "csv",
        "x\n",
        now(),
    );
    let week = Kept::new(&spool, 7);
    week.remove(6);
    assert!(matches!(
        week.find(&key(6), now()),
        Err(KeptError::Missing { run: 6, .. })
    ));
}

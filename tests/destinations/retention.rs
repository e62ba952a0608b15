//! keep_days and archive_days on the local destination remove or archive a
//! job's own old exports and nothing else.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::common::files_under;
use crate::{artifact, config_error, ctx, destination, slot};

fn plant(root: &Path, relative: &str, age_days: u64) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, relative.as_bytes()).unwrap();
    let when = SystemTime::now() - Duration::from_secs(age_days * 86_400 + 60);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(when)
        .unwrap();
}

#[tokio::test]
async fn only_the_jobs_own_old_exports_are_archived_or_removed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("exports");
    // The job's exports: 100, 40 and 10 days old, and a fresh one.
    plant(&root, "sales/2026/01/sales_20260101_0200.csv", 100);
    plant(&root, "sales/2026/02/sales_20260210_0200.csv", 40);
    plant(&root, "sales/2026/02/sales_20260211_0200.csv.gz", 40);
    plant(&root, "sales/2026/03/sales_20260301_0200.csv", 10);
    plant(&root, "sales/2026/03/sales_20260307_0200.csv", 0);
    // Foreign files, all old: another job's exports (one whose name starts
    // like ours), files that do not fit the pattern, an archive-like name.
    let foreign = [
        "sales-eu/2026/01/sales-eu_20260101_0200.csv",
        "sales/2026/01/README.txt",
        "sales/2026/01/sales_2026_0200.csv",
        "sales/notes.csv",
        "other/sales_20260101_0200.csv",
        "top.csv",
    ];
    for f in foreign {
        plant(&root, f, 200);
    }
    let body = format!(
        "kind = \"local\"\nroot = \"{}\"\npath = \"{{job}}/{{date:%Y/%m}}/{{job}}_{{date:%Y%m%d_%H%M}}.{{ext}}\"\nkeep_days = 60\narchive_days = 7",
        root.display()
    );
    let dest = destination(&body, dir.path());
    let (a, _) = artifact(dir.path(), "new.csv", 10, 1);
    dest.deliver(&a, &ctx("sales", 1, slot(0))).await.unwrap();

    let files: Vec<String> = files_under(&root)
        .into_iter()
        .map(|p| p.display().to_string())
        .collect();
    for f in foreign {
        assert!(files.contains(&f.to_string()), "{f} was touched: {files:?}");
    }
    // 100 days: removed. 40 and 10 days: archived. Fresh and new: kept.
    assert!(!root.join("sales/2026/01/sales_20260101_0200.csv").exists());
    assert!(
        !root.join("sales/2026/02").exists(),
        "the emptied folder stays"
    );
    assert!(!root.join("sales/2026/03/sales_20260301_0200.csv").exists());
    assert!(root.join("sales/2026/03/sales_20260307_0200.csv").exists());
    assert!(root.join("sales/2026/03/sales_20260308_0200.csv").exists());
    let archives: Vec<_> = files
        .iter()
        .filter(|f| f.starts_with("archive/"))
        .cloned()
        .collect();
    assert!(!archives.is_empty());
    let mut archived = Vec::new();
    for name in &archives {
        let mut zip = zip::ZipArchive::new(File::open(root.join(name)).unwrap()).unwrap();
        for i in 0..zip.len() {
            let mut entry = zip.by_index(i).unwrap();
            let name = entry.name().unwrap().to_string();
            let mut text = String::new();
            entry.read_to_string(&mut text).unwrap();
            assert_eq!(text, name, "archived content");
            archived.push(name);
        }
    }
    archived.sort();
    assert_eq!(
        archived,
        [
            "sales/2026/02/sales_20260210_0200.csv",
            "sales/2026/02/sales_20260211_0200.csv.gz",
            "sales/2026/03/sales_20260301_0200.csv",
        ]
    );
    assert!(
        archives
            .iter()
            .all(|a| a.starts_with("archive/sales/") && a.ends_with(".zip"))
    );
}

#[test]
fn retention_needs_the_job_in_the_pattern() {
    let err = config_error(
        "kind = \"local\"\nroot = \"/x\"\npath = \"{date:%Y}/{run_id}.{ext}\"\nkeep_days = 5",
    );
    assert!(
        err.contains("destinations.d.keep_days: needs {job} in path"),
        "{err}"
    );
    let err = config_error("kind = \"local\"\nroot = \"/x\"\nkeep_days = 5\narchive_days = 5");
    assert!(
        err.contains("destinations.d.archive_days: must be less than keep_days"),
        "{err}"
    );
    let err = config_error("kind = \"local\"\nroot = \"/x\"\nkeep_days = 0");
    assert!(
        err.contains("destinations.d.keep_days: must be at least 1"),
        "{err}"
    );
}

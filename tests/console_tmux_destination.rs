//! Making a new local folder destination from the job form, as an operator
//! does: the real binary in a tmux pane at 80x24, attached to a headless
//! instance that shares the store. The form's "+ new local folder" opens
//! the sub-form; Add ticks it; Ctrl-S saves the job and the destination;
//! `t` test-runs the job on the instance, which was never restarted, and
//! the file is in the new folder. Needs tmux (`scripts/test.sh` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::process::{Headless, Sandbox, config_header, poll};
use common::tmux::{Tmux, console_command};
use cronport::store::Store;

/// Every file under `dir`, however deep.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found
}

#[test]
fn make_a_local_folder_from_the_form_save_and_test_run() {
    let sandbox = Sandbox::new();
    sandbox.write_config(&config_header());
    let mut headless: Headless = sandbox.headless(&[]);
    headless.wait_for_line("scheduler started", Duration::from_secs(20));

    let tmux = Tmux::start(&console_command(&sandbox), 80, 24);
    tmux.wait_text("attached to", Duration::from_secs(20));

    // The job: name, schedule, a command source, csv.
    tmux.keys(&["n"]);
    tmux.wait_text("New job", Duration::from_secs(5));
    tmux.text("to-new-folder");
    tmux.keys(&["Enter"]);
    tmux.text("daily at 02:00");
    tmux.keys(&["Tab", "Tab", "Right", "Tab"]);
    tmux.text(r#"printf "n\n1\n""#);
    // Past the command's folder, environment and output, the format and
    // csv's five options and compression, past the config's "out", to
    // "+ new local folder".
    tmux.keys(&["Tab"; 12]);
    tmux.wait_text("+ new local folder", Duration::from_secs(5));
    tmux.keys(&["Enter"]);
    tmux.wait_text("New local folder", Duration::from_secs(5));

    // A bad name is refused live, naming the field.
    tmux.text("Made Here");
    tmux.wait_text(
        "name: \"Made Here\" is not a valid name",
        Duration::from_secs(5),
    );
    tmux.keys(&["C-u"]);
    tmux.text("made-here");
    tmux.keys(&["Tab"]);
    tmux.text("made");
    // The default path pattern stays; no keep_days; to Add.
    tmux.keys(&["Tab", "Tab", "Tab"]);
    tmux.wait_text("valid: Enter on Add", Duration::from_secs(5));
    tmux.keys(&["Enter"]);
    tmux.wait_text("[x] made-here", Duration::from_secs(5));
    tmux.wait_text("made when the job is saved", Duration::from_secs(5));
    tmux.wait_text("valid: Ctrl-S saves", Duration::from_secs(5));
    tmux.keys(&["C-s"]);
    tmux.wait_text("destination made-here made", Duration::from_secs(10));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt.block_on(Store::open(&sandbox.store)).expect("store");
    let job = rt
        .block_on(store.get_job("to-new-folder"))
        .expect("read")
        .expect("saved");
    assert!(
        job.definition.contains(r#""destinations":["made-here"]"#),
        "{}",
        job.definition
    );
    let made = rt
        .block_on(store.get_destination("made-here"))
        .expect("read")
        .expect("made with the job");
    assert_eq!(made.kind, "local");

    // Test-run it: the instance, started before the destination existed,
    // delivers into the new folder (relative to the config's folder).
    tmux.keys(&["t"]);
    tmux.wait_text("of to-new-folder started", Duration::from_secs(10));
    let folder = sandbox.path().join("made");
    let file = poll(
        "the file in the new folder",
        Duration::from_secs(20),
        || {
            files_under(&folder)
                .into_iter()
                .find(|p| p.extension().is_some_and(|e| e == "csv"))
        },
    );
    assert!(
        file.starts_with(folder.join("to-new-folder")),
        "{}",
        file.display()
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "n\r\n1\r\n");

    // `cronport check` lists it, marked as made in the console.
    let check = sandbox
        .command(&["check"])
        .output()
        .expect("cronport check");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("ok   destination made-here [made in the console]")),
        "{text}"
    );

    tmux.keys(&["q"]);
    tmux.wait_text("exited 0", Duration::from_secs(10));
    let status = headless.terminate(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{}", headless.transcript());
}

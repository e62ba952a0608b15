//! `cronport completions SHELL` and `cronport man`, as a user runs them:
//! each script is read by its own shell, and the pages are rendered by
//! groff (`scripts/services.sh tools` installs zsh, fish and groff).

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::process::{Output, Sandbox, run_command};

/// Subcommands every script and page must know.
const SUBCOMMANDS: [&str; 12] = [
    "next",
    "apply",
    "jobs",
    "runs",
    "check",
    "catchup",
    "completions",
    "man",
    "audit",
    "backfill",
    "status",
    "report",
];

fn cronport(sandbox: &Sandbox, args: &[&str]) -> Output {
    let mut cmd = sandbox.bare_command();
    cmd.args(args);
    run_command(cmd)
}

/// Run `program args` with `input` on stdin; its exit code and stderr.
fn feed(program: &str, args: &[&str], input: &[u8]) -> (Option<i32>, String) {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program} ({e}); run scripts/services.sh tools"));
    let mut stdin = child.stdin.take().expect("stdin pipe");
    stdin.write_all(input).expect("write to stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn script(sandbox: &Sandbox, shell: &str) -> String {
    let out = cronport(sandbox, &["completions", shell]).ok(&format!("completions {shell}"));
    assert!(
        out.stdout.len() > 1000,
        "a {shell} script of {} bytes",
        out.stdout.len()
    );
    for name in SUBCOMMANDS {
        assert!(out.stdout.contains(name), "the {shell} script lacks {name}");
    }
    // Flags of nested subcommands are completed too.
    assert!(
        out.stdout.contains("dry-run"),
        "the {shell} script lacks --dry-run"
    );
    out.stdout
}

#[test]
fn each_shell_reads_its_completion_script() {
    let sandbox = Sandbox::new();
    let bash = script(&sandbox, "bash");
    let (code, stderr) = feed("bash", &["-n"], bash.as_bytes());
    assert_eq!(code, Some(0), "bash -n refused the script: {stderr}");
    assert!(
        bash.contains("complete -F"),
        "no `complete` in the bash script"
    );

    let zsh = script(&sandbox, "zsh");
    assert!(
        zsh.starts_with("#compdef cronport"),
        "{}",
        &zsh[..40.min(zsh.len())]
    );
    let (code, stderr) = feed("zsh", &["-n"], zsh.as_bytes());
    assert_eq!(code, Some(0), "zsh -n refused the script: {stderr}");

    let fish = script(&sandbox, "fish");
    let (code, stderr) = feed("fish", &["--no-execute"], fish.as_bytes());
    assert_eq!(
        code,
        Some(0),
        "fish --no-execute refused the script: {stderr}"
    );
    assert!(
        fish.contains("complete -c cronport"),
        "no `complete -c` in the fish script"
    );

    // Loaded into bash, the script completes a subcommand from a prefix.
    let probe = format!(
        "{bash}\nCOMP_WORDS=(cronport chec); COMP_CWORD=1; COMP_LINE='cronport chec'; COMP_POINT=13\n\
         _cronport cronport chec cronport\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n"
    );
    let out = Command::new("bash")
        .args(["-c", &probe])
        .output()
        .expect("run bash");
    let replies = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        replies.trim(),
        "check",
        "bash completed `chec` to {replies:?}"
    );

    let err = cronport(&sandbox, &["completions", "tcsh"]).expect_code(2, "an unknown shell");
    assert!(err.stderr.contains("tcsh"), "{}", err.stderr);
}

#[test]
fn the_man_page_renders() {
    let sandbox = Sandbox::new();
    let page = cronport(&sandbox, &["man"]).ok("man");
    assert!(
        page.stdout.starts_with(".ie"),
        "not roff: {}",
        &page.stdout[..60.min(page.stdout.len())]
    );
    assert!(page.stdout.contains(".TH cronport 1"), "no title header");
    let (code, stderr) = feed(
        "groff",
        &["-man", "-Tutf8", "-ww", "-z"],
        page.stdout.as_bytes(),
    );
    assert_eq!(code, Some(0), "groff refused the page: {stderr}");
    assert!(stderr.trim().is_empty(), "groff warned: {stderr}");
    let rendered = Command::new("sh")
        .args(["-c", "groff -man -Tutf8 | col -b"])
        .stdin(Stdio::from(
            std::fs::File::open(write(&sandbox, "cronport.1", &page.stdout)).expect("open page"),
        ))
        .output()
        .expect("run groff");
    let text = String::from_utf8_lossy(&rendered.stdout);
    for heading in ["NAME", "SYNOPSIS", "OPTIONS", "SUBCOMMANDS"] {
        assert!(
            text.contains(heading),
            "the rendered page lacks {heading}:\n{text}"
        );
    }
    for name in SUBCOMMANDS.iter().filter(|n| **n != "backfill") {
        assert!(
            text.contains(&format!("cronport-{name}")),
            "the page does not list {name}:\n{text}"
        );
    }

    // --out writes a page per subcommand, nested ones included.
    let dir = sandbox.path().join("man1");
    let dir_text = dir.display().to_string();
    cronport(&sandbox, &["man", "--out", &dir_text]).ok("man --out");
    for page in [
        "cronport.1",
        "cronport-check.1",
        "cronport-jobs.1",
        "cronport-jobs-backfill.1",
        "cronport-runs-logs.1",
    ] {
        let path = dir.join(page);
        assert!(path.is_file(), "man --out did not write {page}");
        let out = Command::new("man")
            .args(["-l", "-P", "cat"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .output()
            .expect("run man -l");
        assert!(
            out.status.success(),
            "man -l {page}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty(), "man -l {page} printed nothing");
    }
    let backfill =
        std::fs::read_to_string(dir.join("cronport-jobs-backfill.1")).expect("read page");
    assert!(
        backfill.contains("\\-\\-from"),
        "the backfill page lacks --from"
    );

    // A folder that cannot be made is bad input naming the flag.
    let file = write(&sandbox, "not-a-folder", "");
    let nested = file.join("man1").display().to_string();
    let err =
        cronport(&sandbox, &["man", "--out", &nested]).expect_code(2, "man --out under a file");
    assert!(err.stderr.contains("--out"), "{}", err.stderr);
}

fn write(sandbox: &Sandbox, name: &str, text: &str) -> std::path::PathBuf {
    sandbox.write(name, text)
}

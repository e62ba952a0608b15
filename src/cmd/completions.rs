//! `cronport completions SHELL` and `cronport man`: both generated from the
//! clap definitions in [`crate::cli`], so they cannot drift from the flags
//! the binary accepts.

use std::io::Write as _;
use std::path::Path;

use clap::CommandFactory as _;

use super::Failure;
use crate::cli::{Cli, CompletionsArgs, ManArgs};

/// Print the completion script for `args.shell` on stdout.
pub(super) fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "cronport", &mut out);
    write_stdout(&out)
}

/// Print cronport.1 on stdout, or with `--out DIR` write it and a page per
/// subcommand there.
pub(super) fn man(args: &ManArgs) -> Result<(), Failure> {
    let command = Cli::command();
    match &args.out {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut out)
                .map_err(|e| Failure::Failed(format!("cannot render the man page: {e}")))?;
            write_stdout(&out)
        }
        Some(dir) => write_pages(command, dir),
    }
}

fn write_pages(command: clap::Command, dir: &Path) -> Result<(), Failure> {
    let bad_dir = |e: std::io::Error| Failure::BadInput(format!("--out {}: {e}", dir.display()));
    std::fs::create_dir_all(dir).map_err(bad_dir)?;
    let mut pages = Vec::new();
    page_names(&command, "cronport", &mut pages);
    clap_mangen::generate_to(command, dir).map_err(bad_dir)?;
    println!(
        "wrote {} page(s) in {}: {}",
        pages.len(),
        dir.display(),
        pages.join(", ")
    );
    Ok(())
}

/// The pages `generate_to` writes: one per visible command, named by its
/// path (`cronport-jobs-run.1`).
fn page_names(command: &clap::Command, name: &str, pages: &mut Vec<String>) {
    pages.push(format!("{name}.1"));
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        page_names(sub, &format!("{name}-{}", sub.get_name()), pages);
    }
}

fn write_stdout(bytes: &[u8]) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .map_err(|e| Failure::Failed(format!("cannot write to stdout: {e}")))
}

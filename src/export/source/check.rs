//! What `cronport check` asks of a source: that it would work at the job's
//! next slot, with as little of a run as tells. A query runs for its first
//! row (rolled back), a program is found but not run, a path or glob must
//! match a readable file, a URL must answer.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::command::CommandSpec;
use super::file::{FileSource, FileSpec};
use super::http::HttpSource;
use super::sql::Connections;
use super::{SourceError, SourceSpec};
use crate::export::RunContext;

/// How long a query may take to give its first row, and a URL to answer.
pub const CHECK_LIMIT: Duration = Duration::from_secs(15);

/// Check `spec` as it would run with `ctx`; relative paths and working
/// folders are taken from `base` (the config's folder). Says what was
/// found, or why the run would fail.
pub async fn check(
    spec: &SourceSpec,
    connections: &Arc<Connections>,
    base: &Path,
    ctx: &RunContext,
) -> Result<String, SourceError> {
    match spec {
        SourceSpec::Sql(sql) => Ok(connections.probe(sql, ctx, CHECK_LIMIT).await?.to_string()),
        SourceSpec::Command(command) => program(command, base),
        SourceSpec::File(file) => files(file, connections, base, ctx).await,
        SourceSpec::Http(http) => HttpSource::new(http.clone()).check(CHECK_LIMIT).await,
    }
}

/// The program of `spec`, found as the run would find it: a name with a
/// slash from the job's working folder, a bare name on the `PATH` the
/// program gets (the job's `env` may set it), skipping files that are
/// not executable as `execvp` does.
fn program(spec: &CommandSpec, base: &Path) -> Result<String, SourceError> {
    let spawn_error = |program: &str, message: String| SourceError::Spawn {
        program: program.to_string(),
        message,
    };
    let Some(program) = spec.argv.first() else {
        return Err(spawn_error("", "argv is empty".into()));
    };
    let folder = match &spec.cwd {
        Some(cwd) => {
            let folder = base.join(cwd);
            if !folder.is_dir() {
                let message = format!("working folder {} is not a folder", folder.display());
                return Err(spawn_error(program, message));
            }
            folder
        }
        None => std::env::current_dir().unwrap_or_default(),
    };
    if program.contains('/') {
        let path = folder.join(program);
        return match executable(&path) {
            Ok(()) => Ok(format!(
                "program {} is executable (not run)",
                path.display()
            )),
            Err(why) => Err(spawn_error(program, format!("{} {why}", path.display()))),
        };
    }
    let path = match spec.env.get("PATH") {
        Some(path) => path.clone().into(),
        None => std::env::var_os("PATH").unwrap_or_default(),
    };
    let mut refused = None;
    for dir in std::env::split_paths(&path) {
        // An empty entry means the working folder, as for the shell.
        let candidate = folder.join(dir).join(program);
        match executable(&candidate) {
            Ok(()) => {
                return Ok(format!(
                    "program {} is executable (not run)",
                    candidate.display()
                ));
            }
            Err(Missing::NotExecutable(why)) if refused.is_none() => {
                refused = Some(format!("{} {why}", candidate.display()));
            }
            Err(_) => {}
        }
    }
    let message = refused.unwrap_or_else(|| format!("not found on PATH ({})", path.display()));
    Err(spawn_error(program, message))
}

/// Why a path cannot be executed.
#[derive(Debug)]
enum Missing {
    /// Nothing there.
    Absent,
    /// Something there that cannot run.
    NotExecutable(&'static str),
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Absent => f.write_str("does not exist"),
            Missing::NotExecutable(why) => f.write_str(why),
        }
    }
}

fn executable(path: &Path) -> Result<(), Missing> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Err(Missing::Absent);
    };
    if !meta.is_file() {
        return Err(Missing::NotExecutable("is not a file"));
    }
    // The mode bits first: root passes `access(X_OK)` for any file with
    // an execute bit, and for none without one it is refused at exec.
    if meta.permissions().mode() & 0o111 == 0 || !may_execute(path.as_os_str()) {
        return Err(Missing::NotExecutable("is not executable"));
    }
    Ok(())
}

/// Whether this process may execute `path` (its user and groups).
fn may_execute(path: &OsStr) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is a valid NUL-terminated string for the call.
    unsafe { libc::access(c_path.as_ptr(), libc::X_OK) == 0 }
}

/// The files `spec` names (at least one, each readable), and its template
/// query's first row if it has one.
async fn files(
    spec: &FileSpec,
    connections: &Arc<Connections>,
    base: &Path,
    ctx: &RunContext,
) -> Result<String, SourceError> {
    let source = FileSource::new(spec.clone(), connections.clone(), base.to_path_buf());
    let paths: Vec<PathBuf> = source.paths()?;
    for path in &paths {
        std::fs::File::open(path).map_err(|e| SourceError::File {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
    }
    let mut found = format!("{} readable file(s) match {}", paths.len(), spec.path);
    if let Some(query) = &spec.template_query {
        let template_error =
            |message: String| SourceError::Template(format!("template_query: {message}"));
        let probed = connections.probe(query, ctx, CHECK_LIMIT).await;
        let probed = probed.map_err(|e| template_error(e.to_string()))?;
        // The run fills the placeholders from the first row: none fails it.
        if probed.row == Some(false) {
            return Err(template_error(format!("{probed}; a run needs one")));
        }
        found.push_str("; template_query: ");
        found.push_str(&probed.to_string());
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(argv: &[&str], env_path: Option<&Path>) -> CommandSpec {
        CommandSpec {
            argv: argv.iter().map(|a| a.to_string()).collect(),
            cwd: None,
            env: env_path
                .map(|p| ("PATH".to_string(), p.display().to_string()))
                .into_iter()
                .collect(),
            output: None,
        }
    }

    #[test]
    fn programs_are_found_on_the_jobs_path_and_must_be_executable() {
        let dir = tempfile::tempdir().expect("temp folder");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin folder");
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("write tool");
        let plain = bin.join("plain");
        std::fs::write(&plain, "not a program").expect("write plain");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755))
            .expect("chmod tool");

        let found = program(&command(&["tool"], Some(&bin)), dir.path()).expect("tool is found");
        assert!(found.contains(&tool.display().to_string()), "{found}");

        let err = program(&command(&["plain"], Some(&bin)), dir.path()).unwrap_err();
        assert!(err.to_string().contains("is not executable"), "{err}");

        let err = program(&command(&["nowhere-to-be-found"], Some(&bin)), dir.path()).unwrap_err();
        assert!(err.to_string().contains("not found on PATH"), "{err}");

        // A name with a slash is taken from the working folder.
        let mut spec = command(&["./bin/tool"], None);
        spec.cwd = Some(PathBuf::from("."));
        program(&spec, dir.path()).expect("./bin/tool from the working folder");
        spec.cwd = Some(PathBuf::from("missing"));
        let err = program(&spec, dir.path()).unwrap_err();
        assert!(err.to_string().contains("is not a folder"), "{err}");
    }
}

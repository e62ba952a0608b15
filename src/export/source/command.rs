//! The `command` source: a program run without a shell; its stdout is CSV
//! with a header row (streamed), a JSON array of objects, an SVG diagram or
//! raw bytes; its stderr goes to the run log.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncBufReadExt as _;
use tokio::process::Command;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;
use tokio_util::task::AbortOnDropHandle;

use super::group::GroupChild;
use super::parse::Message;
use super::{RowStream, Source, SourceError};
use crate::export::RunContext;
use crate::export::value::{Column, Row, Value};

/// How many stderr lines are kept to explain a failure.
const STDERR_TAIL: usize = 5;

/// `source = { kind = "command", argv = ["prog", "arg"] }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Program and arguments; no shell is involved, so nothing is expanded.
    pub argv: Vec<String>,
    /// Working directory (default: cronport's own); a relative one is
    /// taken from the config's folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    /// Extra environment variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// What stdout holds (default `csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<CommandOutput>,
}

/// What a program writes to stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandOutput {
    /// CSV with a header row, streamed as it is written.
    Csv,
    /// A JSON array of objects.
    Json,
    /// One SVG diagram (column `svg`), for svg, png and pdf.
    Svg,
    /// Bytes as they are (column `data`).
    Raw,
}

/// The `command` source of one job.
pub struct CommandSource {
    spec: CommandSpec,
    base: PathBuf,
}

impl CommandSource {
    /// A source running `spec`, a relative `cwd` taken from `base` (the
    /// config's folder).
    pub fn new(spec: CommandSpec, base: PathBuf) -> Self {
        CommandSource { spec, base }
    }
}

#[async_trait]
impl Source for CommandSource {
    async fn open(&self, ctx: &RunContext) -> Result<Box<dyn RowStream>, SourceError> {
        let Some((program, args)) = self.spec.argv.split_first() else {
            return Err(SourceError::Spawn {
                program: String::new(),
                message: "argv is empty".into(),
            });
        };
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(&self.spec.env)
            .env("CRONPORT_JOB", &ctx.job)
            .env("CRONPORT_RUN_ID", ctx.run_id.to_string())
            .env("CRONPORT_SCHEDULED_FOR", ctx.scheduled_for.to_rfc3339())
            .env("CRONPORT_WINDOW_START", ctx.window_start.to_rfc3339())
            .env("CRONPORT_WINDOW_END", ctx.window_end.to_rfc3339())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(cwd) = &self.spec.cwd {
            command.current_dir(self.base.join(cwd));
        }
        // From here on, dropping `group` (a cancelled or timed-out run, an
        // early return) stops the program and everything it started.
        let mut group =
            GroupChild::spawn(program, &mut command).map_err(|e| spawn_error(program, e))?;
        let stdout = group.take_stdout().ok_or_else(|| SourceError::Spawn {
            program: program.clone(),
            message: "no stdout pipe".into(),
        })?;
        let stderr = group.take_stderr();
        let span = tracing::Span::current();
        let stderr_task = tokio::spawn(async move {
            let mut tail = std::collections::VecDeque::with_capacity(STDERR_TAIL);
            if let Some(stderr) = stderr {
                let mut lines = tokio::io::BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    span.in_scope(|| tracing::warn!(target: "cronport::source", "stderr: {line}"));
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            }
            tail.into_iter().collect::<Vec<_>>()
        });
        let output = self.spec.output.unwrap_or(CommandOutput::Csv);
        if output != CommandOutput::Csv {
            return whole_output(stdout, output, program, group, stderr_task).await;
        }
        let (tx, mut rx) = mpsc::channel::<Result<Message, SourceError>>(2);
        // csv reads synchronously; it runs on a thread of its own fed through a
        // bridge, with the bounded channel as back-pressure. The bridge takes
        // the runtime's handle, so it is made here, not on that thread.
        let stdout = SyncIoBridge::new(stdout);
        let reader = crate::export::thread::spawn("cronport-read", move || {
            super::parse::stream_csv(stdout, "stdout", &tx)
        });
        let columns = group
            .while_reading(super::parse::first_columns(&mut rx))
            .await
            .map_err(|e| spawn_error(program, e))??;
        Ok(Box::new(CommandRows {
            program: program.clone(),
            columns,
            rx,
            group,
            stderr: AbortOnDropHandle::new(stderr_task),
            _reader: AbortOnDropHandle::new(reader),
        }))
    }
}

/// Read all of stdout, wait for the exit (a failure explains itself before
/// any parse error), then parse.
async fn whole_output(
    mut stdout: tokio::process::ChildStdout,
    output: CommandOutput,
    program: &str,
    mut group: GroupChild,
    stderr_task: tokio::task::JoinHandle<Vec<String>>,
) -> Result<Box<dyn RowStream>, SourceError> {
    use tokio::io::AsyncReadExt as _;
    let mut bytes = Vec::new();
    group
        .while_reading(stdout.read_to_end(&mut bytes))
        .await
        .and_then(|read| read)
        .map_err(|e| spawn_error(program, e))?;
    let status = group.wait().await.map_err(|e| spawn_error(program, e))?;
    let tail = stderr_task.await.unwrap_or_default();
    if !status.success() {
        return Err(SourceError::Exit {
            program: program.to_string(),
            status: status.to_string(),
            stderr: if tail.is_empty() {
                String::new()
            } else {
                format!("; stderr: {}", tail.join(" | "))
            },
        });
    }
    let (columns, rows) = match output {
        CommandOutput::Json => super::parse::json_rows(&bytes, "stdout")?,
        CommandOutput::Svg => {
            let text = String::from_utf8(bytes)
                .map_err(|_| SourceError::Parse("stdout is not UTF-8 SVG text".into()))?;
            (vec![Column::new("svg")], vec![vec![Value::Text(text)]])
        }
        _ => (vec![Column::new("data")], vec![vec![Value::Bytes(bytes)]]),
    };
    Ok(Box::new(super::file::BufferedRows(
        super::parse::Buffered::new(columns, rows),
    )))
}

fn spawn_error(program: &str, e: std::io::Error) -> SourceError {
    SourceError::Spawn {
        program: program.to_string(),
        message: e.to_string(),
    }
}

struct CommandRows {
    program: String,
    columns: Vec<Column>,
    rx: super::parse::Receiver,
    group: GroupChild,
    stderr: AbortOnDropHandle<Vec<String>>,
    _reader: AbortOnDropHandle<()>,
}

#[async_trait]
impl RowStream for CommandRows {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SourceError> {
        let next = self
            .group
            .while_reading(super::parse::next_rows(&mut self.rx))
            .await
            .map_err(|e| spawn_error(&self.program, e))?;
        match next {
            Err(e) => Err(self.explain(e).await),
            rows => rows,
        }
    }

    async fn finish(mut self: Box<Self>) -> Result<(), SourceError> {
        let status = self
            .group
            .wait()
            .await
            .map_err(|e| spawn_error(&self.program, e))?;
        self.exit_error(status).await.map_or(Ok(()), Err)
    }
}

impl CommandRows {
    /// The program's failure, if it failed, with the end of its stderr.
    /// Waits for stderr to be read to its end either way, so every line
    /// reaches the run log before the run finishes.
    async fn exit_error(&mut self, status: std::process::ExitStatus) -> Option<SourceError> {
        let tail = (&mut self.stderr).await.unwrap_or_default();
        if status.success() {
            return None;
        }
        let stderr = if tail.is_empty() {
            String::new()
        } else {
            format!("; stderr: {}", tail.join(" | "))
        };
        Some(SourceError::Exit {
            program: self.program.clone(),
            status: status.to_string(),
            stderr,
        })
    }

    /// Unreadable output from a program that then fails is explained by the
    /// failure, not by the garbage: give it a moment to exit and say which.
    async fn explain(&mut self, parse_error: SourceError) -> SourceError {
        let waited =
            tokio::time::timeout(std::time::Duration::from_secs(1), self.group.wait()).await;
        match waited {
            Ok(Ok(status)) => self.exit_error(status).await.unwrap_or(parse_error),
            _ => parse_error,
        }
    }
}

#[cfg(test)]
mod tests {
    //! The program's group is gone whichever point a run is dropped at.

    use std::path::Path;
    use std::time::{Duration, Instant};

    use chrono::TimeZone as _;

    use super::*;
    use crate::export::source::group::{STOP_GRACE, live_groups};

    fn ctx() -> RunContext {
        let t = chrono::Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap();
        RunContext {
            job: "t".into(),
            run_id: 7,
            attempt: 1,
            scheduled_for: t,
            window_start: t,
            window_end: t,
            timezone: chrono_tz::UTC,
        }
    }

    /// `sh -c SCRIPT` with `$PIDS` naming `pids`; scripts write `$$` there.
    fn source(script: &str, output: Option<CommandOutput>, pids: &Path) -> CommandSource {
        CommandSource::new(
            CommandSpec {
                argv: vec!["sh".into(), "-c".into(), script.into()],
                cwd: None,
                env: [("PIDS".to_string(), pids.display().to_string())].into(),
                output,
            },
            std::env::temp_dir(),
        )
    }

    /// The group's id, once the program has written it.
    async fn leader(pids: &Path) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(pids).unwrap_or_default();
            if let Ok(pid) = text.trim().parse() {
                return pid;
            }
            assert!(Instant::now() < deadline, "the program wrote no pid");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Group `pgid` is gone well within the grace: SIGTERM did it.
    async fn assert_gone(pgid: i32) {
        let deadline = Instant::now() + STOP_GRACE / 2;
        loop {
            let groups = live_groups().expect("/proc");
            if !groups.contains_key(&pgid) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "group {pgid} still has {:?} process(es)",
                groups.get(&pgid)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    const FORKS: &str = r#"echo $$ > "$PIDS"; sleep 300 & sleep 300; echo a"#;

    #[tokio::test]
    async fn dropped_while_waiting_for_the_first_line() {
        for output in [None, Some(CommandOutput::Json)] {
            let dir = tempfile::tempdir().unwrap();
            let pids = dir.path().join("pids");
            let source = source(FORKS, output, &pids);
            let ctx = ctx();
            let mut open = source.open(&ctx);
            let pgid = tokio::select! {
                _ = &mut open => panic!("the program ended on its own"),
                pgid = leader(&pids) => pgid,
            };
            drop(open);
            assert_gone(pgid).await;
        }
    }

    #[tokio::test]
    async fn dropped_while_reading_stdout() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let script = r#"echo $$ > "$PIDS"; echo a; echo 1; sleep 300 & sleep 300"#;
        let stream = source(script, None, &pids).open(&ctx()).await.unwrap();
        assert_eq!(stream.columns().len(), 1);
        let pgid = leader(&pids).await;
        drop(stream);
        assert_gone(pgid).await;
    }

    #[tokio::test]
    async fn dropped_after_stdout_closed_before_the_exit_status() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        let script = r#"echo $$ > "$PIDS"; echo a; echo 1; exec >&-; sleep 300 & sleep 300"#;
        let mut stream = source(script, None, &pids).open(&ctx()).await.unwrap();
        let mut rows = 0;
        while let Some(batch) = stream.next_batch().await.unwrap() {
            rows += batch.len();
        }
        assert_eq!(rows, 1);
        let pgid = leader(&pids).await;
        drop(stream);
        assert_gone(pgid).await;
    }

    #[tokio::test]
    async fn a_background_child_left_by_a_finished_program_is_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let pids = dir.path().join("pids");
        // The child holds stdout open: the output ends because it is stopped.
        let script = r#"echo $$ > "$PIDS"; sleep 300 & echo '[{"a": 1}]'"#;
        let began = Instant::now();
        let mut stream = source(script, Some(CommandOutput::Json), &pids)
            .open(&ctx())
            .await
            .unwrap();
        assert!(began.elapsed() < STOP_GRACE, "{:?}", began.elapsed());
        assert_eq!(stream.next_batch().await.unwrap().map(|b| b.len()), Some(1));
        stream.finish().await.unwrap();
        assert_gone(leader(&pids).await).await;
    }
}

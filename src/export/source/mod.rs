//! Sources: where rows come from. One file per kind behind the [`Source`] seam.

pub mod check;
pub mod command;
pub mod file;
pub mod group;
pub mod http;
pub mod parse;
pub mod sql;
pub mod template;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::RunContext;
use super::value::{Column, Row};

/// How many rows a source hands over at a time. Large enough to amortise
/// channel hops, small enough that memory stays flat.
pub const BATCH_ROWS: usize = 1024;

/// A source as a job writes it (`source = { kind = "sql", ... }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceSpec {
    /// A query on a named connection.
    Sql(sql::SqlSpec),
    /// A program run without a shell; its stdout is the data.
    Command(command::CommandSpec),
    /// A file or glob of files, optionally a template.
    File(file::FileSpec),
    /// A URL fetched with GET.
    Http(http::HttpSpec),
}

impl SourceSpec {
    /// The kind as written in the config.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceSpec::Sql(_) => "sql",
            SourceSpec::Command(_) => "command",
            SourceSpec::File(_) => "file",
            SourceSpec::Http(_) => "http",
        }
    }
}

/// Why a source could not deliver its rows.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The job names a connection the config does not define.
    #[error("source connection {0:?} is not defined under [sources] in the config")]
    UnknownConnection(String),
    /// Connecting failed.
    #[error("cannot connect to source {name:?}: {message}")]
    Connect {
        /// The connection's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The query failed.
    #[error("query failed: {0}")]
    Query(String),
    /// A column holds a type this source cannot read.
    #[error("column {column:?} has type {type_name} which cronport cannot read yet")]
    UnsupportedType {
        /// The column's name.
        column: String,
        /// The database's name for its type.
        type_name: String,
    },
    /// The program could not be started.
    #[error("cannot start {program:?}: {message}")]
    Spawn {
        /// The program.
        program: String,
        /// What went wrong.
        message: String,
    },
    /// The program exited with a failure.
    #[error("{program:?} exited with {status}{stderr}")]
    Exit {
        /// The program.
        program: String,
        /// Its exit status.
        status: String,
        /// The last lines it wrote to stderr, prefixed for display.
        stderr: String,
    },
    /// The data could not be parsed.
    #[error("cannot parse the data: {0}")]
    Parse(String),
    /// A file could not be found or read.
    #[error("file {path:?}: {message}")]
    File {
        /// The path or glob.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A request failed or was answered with an error.
    #[error("GET {url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A template could not be filled.
    #[error("template: {0}")]
    Template(String),
}

/// A source ready to be opened for one run.
#[async_trait]
pub trait Source: Send + Sync {
    /// Start reading; rows arrive through the returned stream.
    async fn open(&self, ctx: &RunContext) -> Result<Box<dyn RowStream>, SourceError>;
}

/// Rows in batches, as the source produces them.
#[async_trait]
pub trait RowStream: Send {
    /// The columns of every row.
    fn columns(&self) -> &[Column];
    /// The next batch, or `None` at the end.
    async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SourceError>;
    /// Hands back a batch the consumer is done with. A source reading on
    /// its own thread refills it: its cells' buffers are reused instead of
    /// freed on the consumer's thread and allocated again on the reader's,
    /// which with glibc's malloc also meant a lock taken per cell.
    fn recycle(&mut self, batch: Vec<Row>) {
        drop(batch);
    }
    /// Called after the last batch: a source that can fail late (a program's
    /// exit status) reports it here.
    async fn finish(self: Box<Self>) -> Result<(), SourceError>;
}

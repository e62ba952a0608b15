//! The `sql` source: a query on a named connection, streamed in batches.

mod decode;
mod mysql;
pub mod params;
mod probe;
pub use probe::Probed;
mod sqlite;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor as _, SqlSafeStr as _, Statement as _};
use tokio::sync::{Mutex, mpsc};
use tokio_util::task::AbortOnDropHandle;

use super::{BATCH_ROWS, RowStream, Source, SourceError};
use crate::config::secret::Secret;
use crate::export::RunContext;
use crate::export::value::{Column, Row};

/// `source = { kind = "sql", connection = "sales", query = "..." }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlSpec {
    /// A name under `[sources]` in the config.
    pub connection: String,
    /// The query; `:scheduled_for`, `:window_start`, `:window_end` and
    /// `:run_id` are bound from the run.
    pub query: String,
}

/// `[sources.NAME]`: a database connection for `sql` sources.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionConfig {
    /// `sqlite://PATH`, `postgres://user@host/db` or `mysql://user@host/db`
    /// (no password here).
    pub url: String,
    /// Environment variable holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_file: Option<std::path::PathBuf>,
}

impl ConnectionConfig {
    fn password(&self) -> Result<Option<Secret>, String> {
        Secret::resolve(self.password_env.as_deref(), self.password_file.as_deref())
    }
}

/// A connection pool, opened read-only.
#[derive(Clone)]
enum Pool {
    Sqlite(Arc<sqlite::Database>),
    Postgres(PgPool),
    MySql(sqlx::MySqlPool),
}

/// Pools for the config's named connections, opened on first use and
/// shared by every run, so runs don't pay a connect each time.
pub struct Connections {
    configs: HashMap<String, ConnectionConfig>,
    pools: Mutex<HashMap<String, Pool>>,
}

impl Connections {
    /// Registry over the config's `[sources]`.
    pub fn new(configs: HashMap<String, ConnectionConfig>) -> Self {
        Connections {
            configs,
            pools: Mutex::new(HashMap::new()),
        }
    }

    async fn pool(&self, name: &str) -> Result<Pool, SourceError> {
        let mut pools = self.pools.lock().await;
        if let Some(pool) = pools.get(name) {
            return Ok(pool.clone());
        }
        let config = self
            .configs
            .get(name)
            .ok_or_else(|| SourceError::UnknownConnection(name.to_string()))?;
        let connect_error = |message: String| SourceError::Connect {
            name: name.to_string(),
            message,
        };
        let pool = open_pool(config).await.map_err(connect_error)?;
        pools.insert(name.to_string(), pool.clone());
        Ok(pool)
    }

    /// Connect to `name` and run a trivial query (for `cronport check`).
    pub async fn check(&self, name: &str) -> Result<(), SourceError> {
        let pool = self.pool(name).await?;
        let result = match &pool {
            Pool::Sqlite(db) => db.check().await,
            Pool::Postgres(p) => p
                .execute("select 1")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Pool::MySql(p) => p
                .execute("select 1")
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
        };
        result.map_err(|message| SourceError::Connect {
            name: name.to_string(),
            message,
        })
    }

    /// Close every open pool.
    pub async fn close(&self) {
        for (_, pool) in self.pools.lock().await.drain() {
            match pool {
                Pool::Sqlite(db) => db.close(),
                Pool::Postgres(p) => p.close().await,
                Pool::MySql(p) => p.close().await,
            }
        }
    }
}

async fn open_pool(config: &ConnectionConfig) -> Result<Pool, String> {
    let url = config.url.as_str();
    if url.starts_with("sqlite:") {
        Ok(Pool::Sqlite(sqlite::Database::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let mut options: PgConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        if let Some(password) = config.password()? {
            options = options.password(password.expose());
        }
        let options = options
            .options([("default_transaction_read_only", "on")])
            .application_name("cronport");
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| e.to_string())?;
        Ok(Pool::Postgres(pool))
    } else if url.starts_with("mysql:") || url.starts_with("mariadb:") {
        let url = url.replacen("mariadb:", "mysql:", 1);
        let password = config.password()?;
        let pool = mysql::open(&url, password.as_ref().map(|p| p.expose())).await?;
        Ok(Pool::MySql(pool))
    } else {
        Err(format!(
            "unsupported URL scheme in {url:?}; use sqlite://, postgres:// or mysql://"
        ))
    }
}

/// The `sql` source of one job.
pub struct SqlSource {
    spec: SqlSpec,
    connections: Arc<Connections>,
}

impl SqlSource {
    /// A source running `spec` on one of `connections`.
    pub fn new(spec: SqlSpec, connections: Arc<Connections>) -> Self {
        SqlSource { spec, connections }
    }
}

/// What the query task sends: the columns first, then batches of rows.
enum Message {
    Columns(Vec<Column>),
    Rows(Vec<Row>),
}

#[async_trait]
impl Source for SqlSource {
    async fn open(&self, ctx: &RunContext) -> Result<Box<dyn RowStream>, SourceError> {
        let pool = self.connections.pool(&self.spec.connection).await?;
        let style = match pool {
            Pool::Sqlite(_) => params::Style::QuestionNumbered,
            Pool::Postgres(_) => params::Style::Dollar,
            Pool::MySql(_) => params::Style::Question,
        };
        let rewritten = params::rewrite(&self.spec.query, style)
            .map_err(|e| SourceError::Query(e.to_string()))?;
        let (tx, rx) = mpsc::channel(2);
        let ctx = ctx.clone();
        // The query runs in its own task (a thread of its own for SQLite) so
        // the stream can borrow the pool freely; the bounded channel is the back-pressure that keeps memory
        // flat however many rows the query returns.
        let mut give_back = None;
        let task = match pool {
            Pool::Sqlite(db) => {
                let (returns, recycled) = std::sync::mpsc::sync_channel(RECYCLED);
                give_back = Some(returns);
                db.stream(rewritten, ctx, tx, recycled)
            }
            Pool::Postgres(p) => tokio::spawn(async move {
                report(stream_pg(&p, rewritten, &ctx, &tx).await, &tx).await;
            }),
            Pool::MySql(p) => tokio::spawn(async move {
                report(stream_mysql(&p, rewritten, &ctx, &tx).await, &tx).await;
            }),
        };
        let mut stream = SqlRows {
            columns: Vec::new(),
            rx,
            pending: None,
            give_back,
            _task: AbortOnDropHandle::new(task),
        };
        match stream.rx.recv().await {
            Some(Ok(Message::Columns(columns))) => stream.columns = columns,
            Some(Ok(Message::Rows(rows))) => stream.pending = Some(rows),
            Some(Err(e)) => return Err(e),
            None => {
                return Err(SourceError::Query(
                    "the query task ended without a result".into(),
                ));
            }
        }
        Ok(Box::new(stream))
    }
}

type Sender = mpsc::Sender<Result<Message, SourceError>>;

/// Batches the consumer is done with, on their way back to a reader on
/// its own thread to be refilled (see [`RowStream::recycle`]).
type Recycled = std::sync::mpsc::Receiver<Vec<Row>>;

/// Batches in flight back to the reader: enough that one is always there
/// when it starts the next, few enough to hold little memory.
const RECYCLED: usize = 2;

async fn report(result: Result<(), SourceError>, tx: &Sender) {
    if let Err(e) = result {
        let _ = tx.send(Err(e)).await;
    }
}

async fn stream_pg(
    pool: &PgPool,
    q: params::Rewritten,
    ctx: &RunContext,
    tx: &Sender,
) -> Result<(), SourceError> {
    let query = bind_pg(sqlx::query(AssertSqlSafe(q.sql.clone())), &q.params, ctx);
    let sent_columns = pump(query.fetch(pool), decode::pg_row, tx).await?;
    if !sent_columns {
        send(tx, Message::Columns(describe(pool, q.sql).await?)).await?;
    }
    Ok(())
}

/// A PostgreSQL query with the run's values bound to its `$N` placeholders.
type PgQuery<'q> = sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>;

fn bind_pg<'q>(mut query: PgQuery<'q>, params: &[&str], ctx: &RunContext) -> PgQuery<'q> {
    for name in params {
        query = match *name {
            "run_id" => query.bind(ctx.run_id),
            "scheduled_for" => query.bind(ctx.scheduled_for),
            "window_start" => query.bind(ctx.window_start),
            _ => query.bind(ctx.window_end),
        };
    }
    query
}

async fn stream_mysql(
    pool: &sqlx::MySqlPool,
    q: params::Rewritten,
    ctx: &RunContext,
    tx: &Sender,
) -> Result<(), SourceError> {
    let mut query = sqlx::query(AssertSqlSafe(q.sql.clone()));
    for name in &q.params {
        // DATETIME columns hold wall-clock UTC here, as the session's zone is UTC.
        query = match *name {
            "run_id" => query.bind(ctx.run_id),
            "scheduled_for" => query.bind(ctx.scheduled_for.naive_utc()),
            "window_start" => query.bind(ctx.window_start.naive_utc()),
            _ => query.bind(ctx.window_end.naive_utc()),
        };
    }
    let sent_columns = pump(query.fetch(pool), mysql::row, tx).await?;
    if !sent_columns {
        send(tx, Message::Columns(describe(pool, q.sql).await?)).await?;
    }
    Ok(())
}

/// Forward decoded rows in batches; tells whether any row (and so the
/// column list) was seen, because an empty result needs `describe` instead.
async fn pump<R: sqlx::Row>(
    mut rows: futures::stream::BoxStream<'_, Result<R, sqlx::Error>>,
    decode: fn(&R) -> Result<Row, SourceError>,
    tx: &Sender,
) -> Result<bool, SourceError> {
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut sent_columns = false;
    while let Some(row) = rows.try_next().await.map_err(query_error)? {
        if !sent_columns {
            send(tx, Message::Columns(described_columns(row.columns()))).await?;
            sent_columns = true;
        }
        batch.push(decode(&row)?);
        if batch.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            send(tx, Message::Rows(full)).await?;
        }
    }
    if !batch.is_empty() {
        send(tx, Message::Rows(batch)).await?;
    }
    Ok(sent_columns)
}

/// The columns a query would yield, for a result with no rows to show them.
async fn describe<'e, E: sqlx::Executor<'e>>(
    executor: E,
    sql: String,
) -> Result<Vec<Column>, SourceError> {
    let statement = executor
        .prepare(AssertSqlSafe(sql).into_sql_str())
        .await
        .map_err(query_error)?;
    Ok(described_columns(statement.columns()))
}

fn described_columns<C: sqlx::Column>(columns: &[C]) -> Vec<Column> {
    columns.iter().map(|c| Column::new(c.name())).collect()
}

fn query_error(e: sqlx::Error) -> SourceError {
    SourceError::Query(e.to_string())
}

async fn send(tx: &Sender, message: Message) -> Result<(), SourceError> {
    // A closed channel means the run was cancelled: stop quietly.
    tx.send(Ok(message))
        .await
        .map_err(|_| SourceError::Query("cancelled".into()))
}

struct SqlRows {
    columns: Vec<Column>,
    rx: mpsc::Receiver<Result<Message, SourceError>>,
    pending: Option<Vec<Row>>,
    /// Where done batches go back to a reader that refills them.
    give_back: Option<std::sync::mpsc::SyncSender<Vec<Row>>>,
    _task: AbortOnDropHandle<()>,
}

#[async_trait]
impl RowStream for SqlRows {
    fn columns(&self) -> &[Column] {
        &self.columns
    }

    async fn next_batch(&mut self) -> Result<Option<Vec<Row>>, SourceError> {
        if let Some(rows) = self.pending.take() {
            return Ok(Some(rows));
        }
        match self.rx.recv().await {
            Some(Ok(Message::Rows(rows))) => Ok(Some(rows)),
            Some(Ok(Message::Columns(_))) => Err(SourceError::Query("columns sent twice".into())),
            Some(Err(e)) => Err(e),
            None => Ok(None),
        }
    }

    fn recycle(&mut self, batch: Vec<Row>) {
        // A full return channel or a reader that has finished: drop it here.
        if let Some(give_back) = &self.give_back {
            let _ = give_back.try_send(batch);
        }
    }

    async fn finish(self: Box<Self>) -> Result<(), SourceError> {
        Ok(())
    }
}

//! SQLite read with rusqlite on a thread of its own, not through sqlx: sqlx
//! hands rows one by one from its worker thread over a channel, which cost
//! more than reading them. Here one thread steps the statement, decodes
//! straight into batches and sends each batch once.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use sqlx::sqlite::SqliteConnectOptions;

use super::decode::{self, Declared};
use super::params::Rewritten;
use super::{Message, Recycled, Sender};
use crate::export::RunContext;
use crate::export::source::{BATCH_ROWS, SourceError};
use crate::export::value::{Column, Row};

/// Idle connections kept for the next run, as a pool would.
const IDLE: usize = 4;

/// SQLite calls the progress handler after about this many VM steps: often
/// enough that a cancelled run stops within microseconds, even inside one
/// long step (a sort, an aggregate), rarely enough to cost nothing.
pub(super) const PROGRESS_STEPS: i32 = 1000;

/// A SQLite database opened read-only, with a few idle connections.
pub struct Database {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Database {
    /// Parse `url` as sqlx does (so the same URLs are accepted) and open
    /// one connection, so a missing file fails here, at connect time.
    pub async fn open(url: &str) -> Result<Arc<Database>, String> {
        let options: SqliteConnectOptions = url.parse().map_err(|e: sqlx::Error| e.to_string())?;
        let db = Arc::new(Database {
            path: options.get_filename().to_path_buf(),
            idle: Mutex::new(Vec::new()),
        });
        let opened = db.clone();
        blocking(move || {
            let conn = opened.connect()?;
            opened.put_back(conn);
            Ok(())
        })
        .await?;
        Ok(db)
    }

    fn connect(&self) -> Result<Connection, String> {
        // Read-only at the driver: a report query can never write. One
        // thread uses a connection at a time, so SQLite's mutex is not needed.
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        Connection::open_with_flags(&self.path, flags).map_err(|e| e.to_string())
    }

    pub(super) fn take(&self) -> Result<Connection, String> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match idle {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    pub(super) fn put_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE
        {
            idle.push(conn);
        }
    }

    /// Run `select 1` on a connection (for `cronport check`).
    pub async fn check(self: &Arc<Self>) -> Result<(), String> {
        let db = self.clone();
        blocking(move || {
            let conn = db.take()?;
            let result = conn
                .query_row("select 1", [], |_| Ok(()))
                .map_err(|e| e.to_string());
            db.put_back(conn);
            result
        })
        .await
    }

    /// Close the idle connections; runs still reading keep theirs.
    pub fn close(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    /// Run `q` on a thread of its own, sending the columns, then batches of
    /// rows, then an error if one happens, over `tx`; batches that come
    /// back over `recycled` are refilled. Dropping the receiver stops the
    /// query.
    pub fn stream(
        self: Arc<Self>,
        q: Rewritten,
        ctx: RunContext,
        tx: Sender,
        recycled: Recycled,
    ) -> tokio::task::JoinHandle<()> {
        crate::export::thread::spawn("cronport-read", move || {
            let result = self.take().map_err(SourceError::Query).and_then(|conn| {
                let result = read(&conn, &q, &ctx, &tx, &recycled);
                self.put_back(conn);
                result
            });
            if let Err(e) = result {
                // Nobody listening means the run was cancelled: nothing to tell.
                let _ = tx.blocking_send(Err(e));
            }
        })
    }
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| e.to_string())?
}

/// Step the query on `conn`, with a progress handler that interrupts it
/// as soon as the receiving end is gone.
fn read(
    conn: &Connection,
    q: &Rewritten,
    ctx: &RunContext,
    tx: &Sender,
    recycled: &Recycled,
) -> Result<(), SourceError> {
    let watch = tx.clone();
    conn.progress_handler(PROGRESS_STEPS, Some(move || watch.is_closed()))
        .map_err(query_error)?;
    let result = step_all(conn, q, ctx, tx, recycled);
    // The handler holds a sender: remove it so the connection can go back
    // to the idle list and the channel can close.
    let removed = conn
        .progress_handler(0, None::<fn() -> bool>)
        .map_err(query_error);
    result.and(removed)
}

fn step_all(
    conn: &Connection,
    q: &Rewritten,
    ctx: &RunContext,
    tx: &Sender,
    recycled: &Recycled,
) -> Result<(), SourceError> {
    let mut statement = conn.prepare(&q.sql).map_err(query_error)?;
    bind(&mut statement, q, ctx)?;
    let names: Vec<String> = statement
        .column_names()
        .into_iter()
        .map(str::to_string)
        .collect();
    let declared: Vec<Declared> = statement
        .columns()
        .iter()
        .map(|c| Declared::of(c.decl_type()))
        .collect();
    let mut rows = statement.raw_query();
    // A batch handed back by the consumer is refilled in place; the rows of
    // a fresh one are built. `filled` counts the rows of this query in it.
    let fresh = || {
        recycled
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(BATCH_ROWS))
    };
    let mut batch: Vec<Row> = fresh();
    let mut filled = 0;
    let mut announced = false;
    while let Some(row) = rows.next().map_err(query_error)? {
        // The columns go after the first step, so a query that fails at
        // once (a write on this read-only connection) fails the open.
        if !announced {
            send(
                tx,
                Message::Columns(names.iter().map(Column::new).collect()),
            )?;
            announced = true;
        }
        match batch.get_mut(filled) {
            Some(cells) if cells.len() == names.len() => {
                for (i, (cell, (kind, name))) in cells
                    .iter_mut()
                    .zip(declared.iter().zip(&names))
                    .enumerate()
                {
                    let value = row.get_ref(i).map_err(query_error)?;
                    decode::sqlite_cell_into(cell, value, *kind, name)?;
                }
            }
            _ => {
                let mut cells = Vec::with_capacity(names.len());
                for (i, (kind, name)) in declared.iter().zip(&names).enumerate() {
                    let value = row.get_ref(i).map_err(query_error)?;
                    cells.push(decode::sqlite_cell(value, *kind, name)?);
                }
                batch.truncate(filled);
                batch.push(cells);
            }
        }
        filled += 1;
        if filled == BATCH_ROWS {
            let mut full = std::mem::replace(&mut batch, fresh());
            full.truncate(filled);
            filled = 0;
            send(tx, Message::Rows(full))?;
        }
    }
    if !announced {
        send(
            tx,
            Message::Columns(names.iter().map(Column::new).collect()),
        )?;
    }
    batch.truncate(filled);
    if !batch.is_empty() {
        send(tx, Message::Rows(batch))?;
    }
    Ok(())
}

/// Bind the run's values to the `?N` placeholders of `q`.
pub(super) fn bind(
    statement: &mut rusqlite::Statement<'_>,
    q: &Rewritten,
    ctx: &RunContext,
) -> Result<(), SourceError> {
    for (i, name) in q.params.iter().enumerate() {
        // `?N` placeholders count from 1, in the order `params` lists them.
        let index = i + 1;
        let bound = match *name {
            "run_id" => statement.raw_bind_parameter(index, ctx.run_id),
            // SQLite keeps timestamps as text; bind them in SQLite's own
            // `datetime()` format (UTC) so comparisons with stored text work.
            "scheduled_for" => statement.raw_bind_parameter(index, sqlite_time(ctx.scheduled_for)),
            "window_start" => statement.raw_bind_parameter(index, sqlite_time(ctx.window_start)),
            _ => statement.raw_bind_parameter(index, sqlite_time(ctx.window_end)),
        };
        bound.map_err(query_error)?;
    }
    Ok(())
}

fn send(tx: &Sender, message: Message) -> Result<(), SourceError> {
    // A closed channel means the run was cancelled: stop quietly.
    tx.blocking_send(Ok(message))
        .map_err(|_| SourceError::Query("cancelled".into()))
}

pub(super) fn query_error(e: rusqlite::Error) -> SourceError {
    SourceError::Query(e.to_string())
}

/// SQLite's `datetime()` text for a run time, in UTC.
pub fn sqlite_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use tokio::sync::mpsc;

    use crate::export::value::Value;

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

    async fn database(dir: &tempfile::TempDir) -> Arc<Database> {
        let path = dir.path().join("t.db");
        Connection::open(&path)
            .unwrap()
            .execute("create table t (id INTEGER)", [])
            .unwrap();
        Database::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap()
    }

    fn no_returns() -> Recycled {
        std::sync::mpsc::sync_channel(1).1
    }

    fn query(sql: &str) -> Rewritten {
        super::super::params::rewrite(sql, super::super::params::Style::QuestionNumbered).unwrap()
    }

    /// The reader must end when the receiver goes, whether it is between
    /// batches or inside one long step; a reader that did not would hang
    /// this test on an endless query.
    #[tokio::test]
    async fn dropping_the_receiver_stops_the_query() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let endless =
            "with recursive c(i) as (select 1 union all select i + 1 from c) select i from c";
        let sorted = "with recursive c(i) as (select 1 union all select i + 1 from c) select i from c order by i desc";
        for sql in [endless, sorted] {
            let (tx, mut rx) = mpsc::channel(2);
            let reader = db.clone().stream(query(sql), ctx(), tx, no_returns());
            if sql == endless {
                assert!(matches!(rx.recv().await, Some(Ok(Message::Columns(_)))));
                assert!(matches!(rx.recv().await, Some(Ok(Message::Rows(_)))));
            }
            drop(rx);
            tokio::time::timeout(std::time::Duration::from_secs(60), reader)
                .await
                .expect("the reader kept going")
                .unwrap();
        }
        // The connection went back without its progress handler.
        assert_eq!(db.idle.lock().unwrap().len(), 1);
        db.check().await.unwrap();
    }

    #[tokio::test]
    async fn parameters_are_bound_and_errors_carry_sqlites_message() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let (tx, mut rx) = mpsc::channel(2);
        db.clone()
            .stream(
                query("select :run_id as r, :window_end as e"),
                ctx(),
                tx,
                no_returns(),
            )
            .await
            .unwrap();
        assert!(matches!(rx.recv().await, Some(Ok(Message::Columns(c))) if c[0].name == "r"));
        match rx.recv().await {
            Some(Ok(Message::Rows(rows))) => assert_eq!(
                rows,
                vec![vec![
                    Value::Int(7),
                    Value::Text("2026-03-08 07:00:00".into())
                ]]
            ),
            _ => panic!("expected one row"),
        }
        let (tx, mut rx) = mpsc::channel(2);
        db.clone()
            .stream(query("insert into t values (1)"), ctx(), tx, no_returns())
            .await
            .unwrap();
        match rx.recv().await {
            Some(Err(SourceError::Query(m))) => assert!(m.contains("readonly"), "{m}"),
            _ => panic!("expected the read-only error first"),
        }
    }

    #[test]
    fn declared_types_refine_whole_names_only() {
        assert_eq!(Declared::of(Some("Boolean")), Declared::Bool);
        assert_eq!(Declared::of(Some("DATE")), Declared::Date);
        assert_eq!(Declared::of(Some("timestamp")), Declared::DateTime);
        assert_eq!(Declared::of(Some("TIMESTAMPTZ")), Declared::Other);
        assert_eq!(Declared::of(None), Declared::Other);
    }
}

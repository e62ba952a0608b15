//! `cronport check` on a `sql` source: the query runs for real, with the
//! values of the job's next slot bound, but reads one row at most inside a
//! read-only transaction that is rolled back. A missing table or column, a
//! parameter the database cannot take, or a column type cronport cannot
//! read shows up here instead of at 02:00.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPool;
use sqlx::{AssertSqlSafe, Executor as _};

use super::params::{self, Rewritten};
use super::sqlite::{self, Database};
use super::{Connections, Pool, SqlSpec, bind_pg, decode, query_error};
use crate::export::RunContext;
use crate::export::source::SourceError;

/// What a probe found: shown as one line in `cronport check`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    /// Whether the query gave a first row; `None` where it was only
    /// prepared.
    pub row: Option<bool>,
    text: String,
}

impl std::fmt::Display for Probed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// What the probe learnt about a query.
struct Found {
    /// Known where the database says without a row (SQLite, MySQL's
    /// prepare) or from the first row.
    columns: Option<usize>,
    /// Whether a first row came back; `None` where the query was only
    /// prepared (MySQL, whose read-only transactions cannot stop a
    /// streaming result early without reading it to the end).
    row: Option<bool>,
}

impl Connections {
    /// Run `spec`'s query with the values of `ctx` bound, read at most
    /// its first row (decoded, so unreadable types show), and roll back.
    /// A query still busy after `limit` is stopped and reported.
    pub async fn probe(
        &self,
        spec: &SqlSpec,
        ctx: &RunContext,
        limit: Duration,
    ) -> Result<Probed, SourceError> {
        let pool = self.pool(&spec.connection).await?;
        let style = match pool {
            Pool::Sqlite(_) => params::Style::QuestionNumbered,
            Pool::Postgres(_) => params::Style::Dollar,
            Pool::MySql(_) => params::Style::Question,
        };
        let q =
            params::rewrite(&spec.query, style).map_err(|e| SourceError::Query(e.to_string()))?;
        let found = match pool {
            Pool::Sqlite(db) => in_sqlite(db, q, ctx.clone(), limit).await?,
            Pool::Postgres(pool) => in_postgres(&pool, &q, ctx, limit).await?,
            Pool::MySql(pool) => Found {
                columns: Some(super::describe(&pool, q.sql).await?.len()),
                row: None,
            },
        };
        let columns = found
            .columns
            .map(|n| format!("{n} column(s), "))
            .unwrap_or_default();
        let what = match found.row {
            Some(true) => format!("ran: {columns}a first row read"),
            Some(false) => format!("ran: {columns}no rows for the slot"),
            None => format!("prepared: {columns}not run"),
        };
        Ok(Probed {
            row: found.row,
            text: format!("query on {} {what}", spec.connection),
        })
    }
}

fn too_slow(limit: Duration) -> SourceError {
    SourceError::Query(format!("the query gave no first row within {limit:?}"))
}

async fn in_sqlite(
    db: Arc<Database>,
    q: Rewritten,
    ctx: RunContext,
    limit: Duration,
) -> Result<Found, SourceError> {
    let deadline = Instant::now() + limit;
    tokio::task::spawn_blocking(move || {
        let conn = db.take().map_err(SourceError::Query)?;
        // The progress handler interrupts a query past the deadline, so a
        // slow query cannot hold `check` (nor this thread) for long.
        conn.progress_handler(
            sqlite::PROGRESS_STEPS,
            Some(move || Instant::now() >= deadline),
        )
        .map_err(sqlite::query_error)?;
        let result = sqlite_first_row(&conn, &q, &ctx);
        let rolled_back = conn.execute_batch("rollback");
        let cleared = conn.progress_handler(0, None::<fn() -> bool>);
        // Only a connection left as it was goes back for the next run.
        if rolled_back.is_ok() && cleared.is_ok() && conn.is_autocommit() {
            db.put_back(conn);
        }
        match result {
            Err(_) if Instant::now() >= deadline => Err(too_slow(limit)),
            other => other,
        }
    })
    .await
    .map_err(|e| SourceError::Query(e.to_string()))?
}

fn sqlite_first_row(
    conn: &rusqlite::Connection,
    q: &Rewritten,
    ctx: &RunContext,
) -> Result<Found, SourceError> {
    conn.execute_batch("begin").map_err(sqlite::query_error)?;
    let mut statement = conn.prepare(&q.sql).map_err(sqlite::query_error)?;
    sqlite::bind(&mut statement, q, ctx)?;
    let columns: Vec<(String, decode::Declared)> = statement
        .columns()
        .iter()
        .map(|c| (c.name().to_string(), decode::Declared::of(c.decl_type())))
        .collect();
    let mut rows = statement.raw_query();
    let row = rows.next().map_err(sqlite::query_error)?;
    if let Some(row) = row {
        for (i, (name, declared)) in columns.iter().enumerate() {
            let value = row.get_ref(i).map_err(sqlite::query_error)?;
            decode::sqlite_cell(value, *declared, name)?;
        }
    }
    Ok(Found {
        columns: Some(columns.len()),
        row: Some(row.is_some()),
    })
}

/// The query behind a cursor, so that one row is fetched however many
/// the query would give (sqlx asks PostgreSQL for every row of a
/// statement); the transaction is read-only and rolled back.
async fn in_postgres(
    pool: &PgPool,
    q: &Rewritten,
    ctx: &RunContext,
    limit: Duration,
) -> Result<Found, SourceError> {
    let mut tx = pool.begin().await.map_err(query_error)?;
    (&mut *tx)
        .execute("set transaction read only")
        .await
        .map_err(query_error)?;
    let timeout = format!("set local statement_timeout = {}", limit.as_millis().max(1));
    (&mut *tx)
        .execute(AssertSqlSafe(timeout))
        .await
        .map_err(query_error)?;
    let body = q.sql.trim_end().trim_end_matches(';');
    let declare = format!("declare cronport_check no scroll cursor for {body}");
    // Not kept as prepared statements: each job's text is its own, and the
    // pool's connections serve runs afterwards.
    bind_pg(sqlx::query(AssertSqlSafe(declare)), &q.params, ctx)
        .persistent(false)
        .execute(&mut *tx)
        .await
        .map_err(|e| slow_or(e, limit))?;
    let row = sqlx::query("fetch 1 from cronport_check")
        .persistent(false)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| slow_or(e, limit))?;
    if let Some(row) = &row {
        decode::pg_row(row)?;
    }
    tx.rollback().await.map_err(query_error)?;
    Ok(Found {
        columns: row.as_ref().map(|row| sqlx::Row::columns(row).len()),
        row: Some(row.is_some()),
    })
}

/// PostgreSQL's "canceling statement due to statement timeout" (57014)
/// said in our terms.
fn slow_or(e: sqlx::Error, limit: Duration) -> SourceError {
    let cancelled = e
        .as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "57014");
    if cancelled {
        too_slow(limit)
    } else {
        query_error(e)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::TimeZone as _;

    use super::*;
    use crate::export::source::sql::ConnectionConfig;

    fn ctx() -> RunContext {
        let t = chrono::Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap();
        RunContext {
            job: "t".into(),
            run_id: 0,
            attempt: 1,
            scheduled_for: t,
            window_start: t - chrono::Duration::days(1),
            window_end: t,
            timezone: chrono_tz::UTC,
        }
    }

    fn spec(query: &str) -> SqlSpec {
        SqlSpec {
            connection: "db".into(),
            query: query.into(),
        }
    }

    /// A slow query is stopped at the limit, and the connection it ran on
    /// serves the next probe (its transaction was rolled back).
    #[tokio::test]
    async fn a_sqlite_query_past_the_limit_is_stopped_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "create table t (at text); insert into t values ('2026-03-08 06:00:00');",
            )
            .unwrap();
        let config = ConnectionConfig {
            url: format!("sqlite://{}", path.display()),
            password_env: None,
            password_file: None,
        };
        let connections = Connections::new(HashMap::from([("db".to_string(), config)]));
        let endless = "with recursive c(i) as (select 1 union all select i + 1 from c) \
                       select i from c order by i desc";
        let started = Instant::now();
        let err = connections
            .probe(&spec(endless), &ctx(), Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("no first row within 300ms"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        let found = connections
            .probe(
                &spec("select at from t where at >= :window_start and at < :window_end"),
                &ctx(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(
            found.to_string(),
            "query on db ran: 1 column(s), a first row read"
        );
        assert_eq!(found.row, Some(true));
        let found = connections
            .probe(
                &spec("select at from t where at >= :window_end"),
                &ctx(),
                Duration::from_secs(5),
            )
            .await
            .unwrap();
        assert_eq!(
            found.to_string(),
            "query on db ran: 1 column(s), no rows for the slot"
        );
        assert_eq!(found.row, Some(false));
    }
}

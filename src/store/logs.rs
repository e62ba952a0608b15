//! Reading a run's log lines (they are written through `write_batch`).

use sqlx::Row;

use super::error::{Result, StoreError};
use super::types::{LogLine, RunId};
use super::{Store, time};

impl Store {
    /// Up to `limit` lines of a run with `seq > after_seq`, in order. Pass
    /// the last seq seen to follow a live log or page through an old one.
    pub async fn run_logs(
        &self,
        run_id: RunId,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<LogLine>> {
        let op = "reading run logs";
        let rows = sqlx::query(
            "SELECT run_id, seq, ts, level, message FROM run_logs \
             WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(run_id)
        .bind(after_seq)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        rows.iter()
            .map(|row| -> sqlx::Result<LogLine> {
                Ok(LogLine {
                    run_id: row.try_get("run_id")?,
                    seq: row.try_get("seq")?,
                    ts: time(row, "ts")?,
                    level: row.try_get("level")?,
                    message: row.try_get("message")?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}

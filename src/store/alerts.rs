//! What the late-run check reads: scheduled slots still waiting in the run
//! queue after their time.

use chrono::{DateTime, Utc};

use super::error::{Result, StoreError};
use super::runs::run_from_row;
use super::types::RunRecord;
use super::{Store, ms};

// The columns `run_from_row` reads. Only scheduled slots count: a
// backfill, a catch-up or a retry is queued for a past slot on purpose, and
// is not late for it.
const UNSTARTED: &str = concat!(
    run_select!(),
    " WHERE r.status = 'queued' AND r.\"trigger\" = 'schedule' AND r.scheduled_for <= $1 \
     ORDER BY r.scheduled_for, r.id LIMIT $2"
);

impl Store {
    /// Scheduled slots still queued (not started) whose time is at or
    /// before `due_by`, oldest first, at most `limit`.
    pub async fn unstarted_slots(
        &self,
        due_by: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RunRecord>> {
        let op = "reading slots that have not started";
        let rows = sqlx::query(UNSTARTED)
            .bind(ms(due_by))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(run_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }
}

//! Per-destination outcome of each run: written after every attempt and by
//! `runs redeliver`, read by `runs show` and `runs list --json`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::Row;

use super::error::{Result, StoreError};
use super::types::RunId;
use super::{Store, time};

/// What happened at one destination of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The destination's name in the config.
    pub destination: String,
    /// `delivered`, `failed`, `skipped` or `retracted`.
    pub status: String,
    /// Where the export went, when it did.
    pub location: Option<String>,
    /// Why it failed or was skipped.
    pub error: Option<String>,
    /// The fire id the destination was given.
    pub fire_id: String,
    /// The attempt (or redelivery) that wrote this.
    pub attempt: i64,
    /// When.
    pub at: DateTime<Utc>,
}

/// The statuses the store accepts.
pub const DELIVERY_STATUSES: &[&str] = &["delivered", "failed", "skipped", "retracted"];

impl Store {
    /// Record the outcome at each destination of `run_id`, replacing what an
    /// earlier attempt recorded for the same destinations. A run that no
    /// longer exists (its job deleted) records nothing.
    pub async fn record_deliveries(
        &self,
        run_id: RunId,
        deliveries: &[DeliveryRecord],
    ) -> Result<()> {
        self.write_batch(&[super::RunWrite::Delivered {
            run_id,
            records: deliveries.to_vec(),
        }])
        .await
        .map(|_| ())
    }

    /// The recorded deliveries of each of `runs`, by destination name.
    pub async fn deliveries(&self, runs: &[RunId]) -> Result<HashMap<RunId, Vec<DeliveryRecord>>> {
        let op = "reading deliveries";
        let mut out: HashMap<RunId, Vec<DeliveryRecord>> = HashMap::new();
        // Bounded IN lists: a page of runs is at most a few hundred ids.
        for chunk in runs.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT run_id, destination, status, location, error, fire_id, attempt, at \
                 FROM run_deliveries WHERE run_id IN ({}) ORDER BY run_id, destination",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            let rows = query
                .fetch_all(&self.pool)
                .await
                .map_err(StoreError::query(op))?;
            for row in &rows {
                let read = || -> sqlx::Result<(RunId, DeliveryRecord)> {
                    Ok((
                        row.try_get("run_id")?,
                        DeliveryRecord {
                            destination: row.try_get("destination")?,
                            status: row.try_get("status")?,
                            location: row.try_get("location")?,
                            error: row.try_get("error")?,
                            fire_id: row.try_get("fire_id")?,
                            attempt: row.try_get("attempt")?,
                            at: time(row, "at")?,
                        },
                    ))
                };
                let (run_id, record) = read().map_err(StoreError::query(op))?;
                out.entry(run_id).or_default().push(record);
            }
        }
        Ok(out)
    }
}

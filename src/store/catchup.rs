//! Catch-up plans awaiting approval (`catch_up = "ask"`): the slots a job
//! missed while no instance was running, kept until a person approves all,
//! some or none of them.
//!
//! Recording is idempotent per job and downtime: every instance that starts
//! may notice the same downtime, and the first to record it wins (the job's
//! row is locked on PostgreSQL, SQLite serialises writers; an overlapping
//! plan is not recorded again). Deciding is one transaction that flips the
//! plan from pending only if it still is, so two people approving at once
//! get one decision; the approved slots go into the run queue under the
//! queue's UNIQUE (job_id, slot), so a slot never runs twice.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::batch::chunks;
use super::error::{Result, StoreError};
use super::queue::enqueue_chunk;
use super::types::{JobId, NewRun, RunStatus, Trigger, text_enum};
use super::{Backend, Store, ms, opt_time, parsed, time};

/// A catch-up plan's id.
pub type PlanId = i64;

text_enum! {
    /// Where a catch-up plan is.
    PlanStatus, "catch-up plan status" {
        /// Waiting for someone to decide.
        Pending = "pending",
        /// Approved, in whole or in part (the rest declined).
        Approved = "approved",
        /// Declined: its slots were recorded skipped.
        Declined = "declined",
    }
}

/// One missed slot of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanSlot {
    /// The slot: the run's identity.
    pub slot: DateTime<Utc>,
    /// When it was due (the job's rules applied): the run's `scheduled_for`.
    pub at: DateTime<Utc>,
}

/// A plan to record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPlan {
    /// The job.
    pub job_id: JobId,
    /// The missed slots, oldest first; at least one.
    pub slots: Vec<PlanSlot>,
    /// When the downtime was noticed.
    pub created_at: DateTime<Utc>,
    /// The instance that noticed it.
    pub instance_id: String,
}

/// A plan as stored, without its slots (see [`Store::catchup_plan_slots`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatchUpPlan {
    /// Its id, what `cronport catchup approve` takes.
    pub id: PlanId,
    /// The job.
    pub job_id: JobId,
    /// The job's name.
    pub job_name: String,
    /// The oldest missed slot.
    pub first: DateTime<Utc>,
    /// The newest.
    pub last: DateTime<Utc>,
    /// How many slots.
    pub count: u64,
    /// When it was recorded.
    pub created_at: DateTime<Utc>,
    /// The instance that recorded it.
    pub instance_id: String,
    /// Pending, approved or declined.
    pub status: PlanStatus,
    /// Who decided.
    pub decided_by: Option<String>,
    /// When.
    pub decided_at: Option<DateTime<Utc>>,
    /// How many slots were approved.
    pub approved: Option<u64>,
}

/// Which of a plan's slots an approval runs; the rest are declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlotSelection {
    /// Every slot.
    All,
    /// Only the newest.
    Latest,
    /// Slots `first` to `last`, counted from 1 (the oldest), inclusive.
    Range {
        /// The first slot to run, from 1.
        first: u64,
        /// The last, inclusive.
        last: u64,
    },
}

impl SlotSelection {
    /// The 0-based index range this selects of `count` slots, or why not.
    pub fn indices(self, count: u64) -> std::result::Result<std::ops::Range<usize>, String> {
        let (first, last) = match self {
            SlotSelection::All => (1, count),
            SlotSelection::Latest => (count, count),
            SlotSelection::Range { first, last } => (first, last),
        };
        if first < 1 || first > last {
            return Err(format!(
                "{first}..{last} is not a range of slots (they count from 1, oldest first)"
            ));
        }
        if last > count {
            let plural = if count == 1 { "" } else { "s" };
            return Err(format!(
                "{first}..{last} is past the plan's end: it has {count} slot{plural}"
            ));
        }
        let to = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(to(first - 1)..to(last))
    }
}

/// What a person decided of a plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanDecision {
    /// Run the selected slots; decline the rest.
    Approve(SlotSelection),
    /// Run none.
    Decline,
}

/// What a decision did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    /// The plan after the decision.
    pub plan: CatchUpPlan,
    /// Approved slots put in the run queue.
    pub queued: u64,
    /// Approved slots that already had a run (or whose job is paused, so
    /// nothing was queued for them).
    pub not_queued: u64,
    /// Slots declined, recorded skipped.
    pub declined: u64,
}

impl Decided {
    /// One line saying what the decision did, for the CLI and the console.
    pub fn summary(&self) -> String {
        let decided = self;
        let plan = &decided.plan;
        let by = plan.decided_by.as_deref().unwrap_or("?");
        let mut line = match plan.status {
            PlanStatus::Declined => format!(
                "plan {} ({}): declined by {by}; {} slot(s) recorded skipped",
                plan.id, plan.job_name, decided.declined
            ),
            _ => format!(
                "plan {} ({}): {} of {} slot(s) approved by {by}; {} queued as catch_up runs",
                plan.id,
                plan.job_name,
                plan.approved.unwrap_or(0),
                plan.count,
                decided.queued
            ),
        };
        if decided.not_queued > 0 {
            line.push_str(&format!(
                ", {} not queued (the slot has a run already, or the job is paused)",
                decided.not_queued
            ));
        }
        if plan.status == PlanStatus::Approved && decided.declined > 0 {
            line.push_str(&format!(
                ", {} declined (recorded skipped)",
                decided.declined
            ));
        }
        line
    }
}

macro_rules! plan_columns {
    () => {
        "p.id, p.job_id, j.name AS job_name, p.first_slot, p.last_slot, p.slot_count, \
         p.created_at, p.instance_id, p.status, p.decided_by, p.decided_at, p.approved"
    };
}

const SELECT_PLAN: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM catchup_plans p JOIN jobs j ON j.id = p.job_id WHERE p.id = $1"
);

fn plan_from_row(row: &AnyRow) -> sqlx::Result<CatchUpPlan> {
    let count: i64 = row.try_get("slot_count")?;
    let approved: Option<i64> = row.try_get("approved")?;
    Ok(CatchUpPlan {
        id: row.try_get("id")?,
        job_id: row.try_get("job_id")?,
        job_name: row.try_get("job_name")?,
        first: time(row, "first_slot")?,
        last: time(row, "last_slot")?,
        count: u64::try_from(count).unwrap_or(0),
        created_at: time(row, "created_at")?,
        instance_id: row.try_get("instance_id")?,
        status: parsed(row, "status")?,
        decided_by: row.try_get("decided_by")?,
        decided_at: opt_time(row, "decided_at")?,
        approved: approved.map(|n| u64::try_from(n).unwrap_or(0)),
    })
}

/// The slots as stored: JSON `[[slot, due], ...]` in unix ms.
fn encode_slots(slots: &[PlanSlot]) -> String {
    let pairs: Vec<[i64; 2]> = slots.iter().map(|s| [ms(s.slot), ms(s.at)]).collect();
    // Serialising integers cannot fail.
    serde_json::to_string(&pairs).unwrap_or_else(|_| "[]".to_owned())
}

fn decode_slots(text: &str, op: &'static str) -> Result<Vec<PlanSlot>> {
    let pairs: Vec<[i64; 2]> = serde_json::from_str(text)
        .map_err(|e| StoreError::decode(op, format!("slots are not a JSON list of pairs: {e}")))?;
    pairs
        .into_iter()
        .map(|[slot, at]| {
            let t = |v: i64| {
                DateTime::from_timestamp_millis(v)
                    .ok_or_else(|| StoreError::decode(op, format!("slot {v} ms out of range")))
            };
            Ok(PlanSlot {
                slot: t(slot)?,
                at: t(at)?,
            })
        })
        .collect()
}

impl Store {
    /// Records a plan of missed slots for `plan.job_id`. `None` when a plan
    /// of this job already covers any of its slots (another instance noticed
    /// the same downtime first), or the job has been deleted.
    pub async fn record_catchup_plan(&self, plan: &NewPlan) -> Result<Option<PlanId>> {
        let op = "recording a catch-up plan";
        let (Some(first), Some(last)) = (plan.slots.first(), plan.slots.last()) else {
            return Err(StoreError::Invalid {
                what: format!("job {}: a catch-up plan needs a slot", plan.job_id),
            });
        };
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        // The job's row is the lock instances recording at once queue on
        // (PostgreSQL); SQLite's write transaction already excludes them.
        let lock = match self.backend {
            Backend::Sqlite => "SELECT id FROM jobs WHERE id = $1",
            Backend::Postgres => "SELECT id FROM jobs WHERE id = $1 FOR UPDATE",
        };
        let job: Option<i64> = sqlx::query_scalar(lock)
            .bind(plan.job_id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        if job.is_none() {
            // Deleted meanwhile: its missed slots concern nobody (and the
            // scheduler's recorder must not retry this).
            return Ok(None);
        }
        let overlapping: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM catchup_plans WHERE job_id = $1 AND first_slot <= $3 AND last_slot >= $2 \
             LIMIT 1",
        )
        .bind(plan.job_id)
        .bind(ms(first.slot))
        .bind(ms(last.slot))
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        if overlapping.is_some() {
            return Ok(None);
        }
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO catchup_plans (job_id, first_slot, last_slot, slot_count, slots, \
                                        created_at, instance_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (job_id, first_slot) DO NOTHING RETURNING id",
        )
        .bind(plan.job_id)
        .bind(ms(first.slot))
        .bind(ms(last.slot))
        .bind(i64::try_from(plan.slots.len()).unwrap_or(i64::MAX))
        .bind(encode_slots(&plan.slots))
        .bind(ms(plan.created_at))
        .bind(plan.instance_id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(id)
    }

    /// Plans, oldest first: only the pending ones unless `all`.
    pub async fn catchup_plans(&self, all: bool) -> Result<Vec<CatchUpPlan>> {
        let op = "listing catch-up plans";
        let sql = if all {
            concat!(
                "SELECT ",
                plan_columns!(),
                " FROM catchup_plans p JOIN jobs j ON j.id = p.job_id ORDER BY p.id"
            )
        } else {
            concat!(
                "SELECT ",
                plan_columns!(),
                " FROM catchup_plans p JOIN jobs j ON j.id = p.job_id \
                 WHERE p.status = 'pending' ORDER BY p.id"
            )
        };
        let rows = sqlx::query(sql)
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(plan_from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// One plan and its slots, oldest first.
    pub async fn catchup_plan_slots(&self, id: PlanId) -> Result<(CatchUpPlan, Vec<PlanSlot>)> {
        let op = "reading a catch-up plan";
        let row = sqlx::query(
            "SELECT p.slots, j.name AS job_name, p.id, p.job_id, p.first_slot, p.last_slot, \
             p.slot_count, p.created_at, p.instance_id, p.status, p.decided_by, p.decided_at, \
             p.approved FROM catchup_plans p JOIN jobs j ON j.id = p.job_id WHERE p.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::query(op))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("catch-up plan {id}"),
        })?;
        let plan = plan_from_row(&row).map_err(StoreError::query(op))?;
        let text: String = row.try_get("slots").map_err(StoreError::query(op))?;
        Ok((plan, decode_slots(&text, op)?))
    }

    /// Decides a pending plan as `by` at `now`: approved slots go into the
    /// run queue (trigger `catch_up`), declined ones are recorded skipped
    /// with a reason naming `by`. A plan decided already (by someone else
    /// meanwhile, say) is a conflict and nothing changes; so is a selection
    /// outside the plan.
    pub async fn decide_catchup_plan(
        &self,
        id: PlanId,
        decision: PlanDecision,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Decided> {
        let op = "deciding a catch-up plan";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let row = sqlx::query(
            "SELECT slots, slot_count, status, decided_by, job_id FROM catchup_plans WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(op))?
        .ok_or_else(|| StoreError::NotFound {
            what: format!("catch-up plan {id}"),
        })?;
        let status: PlanStatus = parsed(&row, "status").map_err(StoreError::query(op))?;
        let decided_by: Option<String> =
            row.try_get("decided_by").map_err(StoreError::query(op))?;
        if status != PlanStatus::Pending {
            return Err(already_decided(id, status, decided_by.as_deref()));
        }
        let job_id: JobId = row.try_get("job_id").map_err(StoreError::query(op))?;
        let text: String = row.try_get("slots").map_err(StoreError::query(op))?;
        let slots = decode_slots(&text, op)?;
        let count = slots.len() as u64;
        let chosen = match decision {
            PlanDecision::Approve(selection) => selection
                .indices(count)
                .map_err(|what| StoreError::Invalid { what })?,
            PlanDecision::Decline => 0..0,
        };
        let (new_status, approved) = match decision {
            PlanDecision::Approve(_) => (PlanStatus::Approved, chosen.len() as u64),
            PlanDecision::Decline => (PlanStatus::Declined, 0),
        };
        // Only while still pending: on PostgreSQL a second decider blocks
        // on this row until the first commits, then finds it decided.
        let changed = sqlx::query(
            "UPDATE catchup_plans SET status = $2, decided_by = $3, decided_at = $4, approved = $5 \
             WHERE id = $1 AND status = 'pending'",
        )
        .bind(id)
        .bind(new_status.as_str())
        .bind(by)
        .bind(ms(now))
        .bind(i64::try_from(approved).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?
        .rows_affected();
        if changed == 0 {
            let (status, decided_by): (String, Option<String>) =
                sqlx::query_as("SELECT status, decided_by FROM catchup_plans WHERE id = $1")
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::query(op))?;
            let status = status.parse().unwrap_or(PlanStatus::Approved);
            return Err(already_decided(id, status, decided_by.as_deref()));
        }
        let runs: Vec<NewRun> = slots[chosen.clone()]
            .iter()
            .map(|s| NewRun {
                job_id,
                trigger: Trigger::CatchUp,
                status: RunStatus::Queued,
                slot: Some(s.slot),
                scheduled_for: s.at,
                queued_at: now,
                attempt: 0,
                instance_id: None,
                retry_of: None,
                error: None,
            })
            .collect();
        let declined: Vec<&[PlanSlot]> = [&slots[..chosen.start], &slots[chosen.end..]]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect();
        let mut skipped = Vec::new();
        // Each part is consecutive: one entry for it, at its last slot.
        for part in &declined {
            if let (Some(first), Some(last)) = (part.first(), part.last()) {
                let (first, last, n) = (first.slot, last.slot, part.len());
                let plural = if n == 1 { "" } else { "s" };
                skipped.push(NewRun {
                    job_id,
                    trigger: Trigger::CatchUp,
                    status: RunStatus::Skipped,
                    slot: Some(last),
                    scheduled_for: last,
                    queued_at: now,
                    attempt: 0,
                    instance_id: None,
                    retry_of: None,
                    error: Some(format!(
                        "declined by {by}: {n} missed slot{plural} from {} to {} \
                         (catch-up plan {id}, catch_up = ask)",
                        first.to_rfc3339(),
                        last.to_rfc3339()
                    )),
                });
            }
        }
        let mut all: Vec<NewRun> = runs;
        let queued_len = all.len();
        all.extend(skipped);
        let mut sorted: Vec<(usize, &NewRun)> = all.iter().enumerate().collect();
        sorted.sort_by_key(|(_, run)| (run.job_id, run.slot));
        let mut ids = vec![None; all.len()];
        for chunk in chunks(&sorted) {
            enqueue_chunk(&mut tx, self.backend, chunk, &mut ids)
                .await
                .map_err(StoreError::query(op))?;
        }
        let queued = ids[..queued_len].iter().filter(|id| id.is_some()).count() as u64;
        let plan_row = sqlx::query(SELECT_PLAN)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        let plan = plan_from_row(&plan_row).map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(Decided {
            plan,
            queued,
            not_queued: approved - queued,
            declined: count - approved,
        })
    }

    /// The newest slot of each job that a catch-up plan holds: where
    /// missed-slot detection resumes, so a plan awaiting approval is not
    /// noticed again as missed when an instance restarts.
    pub(super) async fn plan_last_slots(
        &self,
        job_id: Option<JobId>,
    ) -> Result<std::collections::HashMap<JobId, DateTime<Utc>>> {
        let op = "reading the catch-up plans' last slots";
        let rows: Vec<(i64, Option<i64>)> = match job_id {
            Some(job) => sqlx::query_as(
                "SELECT job_id, MAX(last_slot) FROM catchup_plans WHERE job_id = $1 \
                 GROUP BY job_id",
            )
            .bind(job),
            None => {
                sqlx::query_as("SELECT job_id, MAX(last_slot) FROM catchup_plans GROUP BY job_id")
            }
        }
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::query(op))?;
        rows.into_iter()
            .filter_map(|(job, last)| Some((job, last?)))
            .map(|(job, last)| {
                DateTime::from_timestamp_millis(last)
                    .map(|t| (job, t))
                    .ok_or_else(|| StoreError::decode(op, format!("slot {last} ms out of range")))
            })
            .collect()
    }
}

fn already_decided(id: PlanId, status: PlanStatus, by: Option<&str>) -> StoreError {
    StoreError::Conflict {
        what: format!(
            "catch-up plan {id} was {status} already by {}; nothing changed",
            by.unwrap_or("someone")
        ),
    }
}

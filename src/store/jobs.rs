//! Jobs: the operator's definitions, edited by `apply`, the console and the CLI.

use std::collections::{BTreeMap, HashSet};

use chrono::Utc;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::destinations::NewDestination;
use super::error::{Result, StoreError};
use super::types::{ApplyReport, JobDefinition, JobId, JobRecord};
use super::{Store, flag, ms, time};

/// Columns of `jobs` in the order [`job_from_row`] reads them.
macro_rules! job_columns {
    () => {
        "id, name, schedule, cron, timezone, definition, paused, created_at, updated_at, version"
    };
}

const SELECT_ALL: &str = concat!("SELECT ", job_columns!(), " FROM jobs ORDER BY name");
const SELECT_BY_NAME: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE name = $1");
const SELECT_BY_ID: &str = concat!("SELECT ", job_columns!(), " FROM jobs WHERE id = $1");
const INSERT: &str = concat!(
    "INSERT INTO jobs (name, schedule, cron, timezone, definition, paused, created_at, updated_at, version) \
     VALUES ($1, $2, $3, $4, $5, 0, $6, $6, 1) RETURNING ",
    job_columns!()
);
// `version = $7` makes the update conditional: on PostgreSQL a concurrent
// edit committed after our read leaves no row to update.
const UPDATE: &str = concat!(
    "UPDATE jobs SET schedule = $2, cron = $3, timezone = $4, definition = $5, \
     updated_at = $6, version = version + 1 WHERE name = $1 AND version = $7 RETURNING ",
    job_columns!()
);
const BUMP_JOBS_VERSION: &str =
    "UPDATE store_meta SET value = value + 1 WHERE key = 'jobs_version'";

/// Jobs read per statement by [`Store::list_jobs_page`]'s callers.
pub const JOBS_PAGE: usize = 2_000;

// A page of jobs as one JSON array of arrays, in the columns of
// `job_columns!()`. One row per job cost a round trip between sqlx's SQLite
// worker thread and the async side each (two thread wake-ups), 10-25 µs a
// job: 100,000 jobs took 1.5-2.5 s to list. One text value per page does not.
const PAGE_SQLITE: &str = "\
SELECT COALESCE(json_group_array(json_array(id, name, schedule, cron, timezone, definition,
                                            paused, created_at, updated_at, version)
                                 ORDER BY id), '[]') AS page
FROM (SELECT * FROM jobs WHERE id > $1 ORDER BY id LIMIT $2)";
const PAGE_POSTGRES: &str = "\
SELECT CAST(COALESCE(json_agg(json_build_array(id, name, schedule, cron, timezone, definition,
                                               paused, created_at, updated_at, version)
                              ORDER BY id), '[]') AS TEXT) AS page
FROM (SELECT * FROM jobs WHERE id > $1 ORDER BY id LIMIT $2) AS j";

/// A job as a page lists it, in the order of `job_columns!()`.
type PageRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    i64,
);

/// Decodes one job of a page.
fn job_from_page(row: PageRow, op: &'static str) -> Result<JobRecord> {
    let (id, name, schedule, cron, timezone, definition, paused, created, updated, version) = row;
    let at = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| StoreError::decode(op, format!("job {id}: time {ms} ms out of range")))
    };
    Ok(JobRecord {
        id,
        name,
        schedule,
        cron,
        timezone,
        definition,
        paused: paused != 0,
        created_at: at(created)?,
        updated_at: at(updated)?,
        version,
    })
}

/// Decodes a row selected with `job_columns!()`.
fn job_from_row(row: &AnyRow) -> sqlx::Result<JobRecord> {
    Ok(JobRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        schedule: row.try_get("schedule")?,
        cron: row.try_get("cron")?,
        timezone: row.try_get("timezone")?,
        definition: row.try_get("definition")?,
        paused: flag(row, "paused")?,
        created_at: time(row, "created_at")?,
        updated_at: time(row, "updated_at")?,
        version: row.try_get("version")?,
    })
}

/// Records that the set of jobs changed, for instances polling
/// [`Store::jobs_version`].
pub(super) async fn bump_jobs_version(conn: &mut AnyConnection) -> sqlx::Result<()> {
    sqlx::query(BUMP_JOBS_VERSION).execute(conn).await?;
    Ok(())
}

async fn insert_job(
    conn: &mut AnyConnection,
    def: &JobDefinition,
    now: i64,
) -> sqlx::Result<JobRecord> {
    let row = sqlx::query(INSERT)
        .bind(&def.name)
        .bind(&def.schedule)
        .bind(&def.cron)
        .bind(&def.timezone)
        .bind(&def.definition)
        .bind(now)
        .fetch_one(conn)
        .await?;
    job_from_row(&row)
}

/// Updates the job named `def.name` if its version is still `version`.
async fn update_if_version(
    conn: &mut AnyConnection,
    def: &JobDefinition,
    version: i64,
    now: i64,
) -> sqlx::Result<Option<JobRecord>> {
    let row = sqlx::query(UPDATE)
        .bind(&def.name)
        .bind(&def.schedule)
        .bind(&def.cron)
        .bind(&def.timezone)
        .bind(&def.definition)
        .bind(now)
        .bind(version)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(job_from_row).transpose()
}

/// Rejects definitions the store cannot hold sensibly.
fn check_definition(def: &JobDefinition) -> Result<()> {
    if def.name.trim().is_empty() {
        return Err(StoreError::Invalid {
            what: "a job needs a name".to_owned(),
        });
    }
    Ok(())
}

/// Conflict error for a name that was taken in the meantime.
fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        what: format!("a job named '{name}' already exists"),
    }
}

/// Conflict error for an edit that lost a race.
fn edited_meanwhile(name: &str) -> StoreError {
    StoreError::Conflict {
        what: format!(
            "job '{name}' was changed by someone else while you edited it; reload it and try again"
        ),
    }
}

impl Store {
    /// All jobs, by name.
    pub async fn list_jobs(&self) -> Result<Vec<JobRecord>> {
        let mut jobs = Vec::new();
        loop {
            let after = jobs.last().map_or(0, |j: &JobRecord| j.id);
            let page = self.list_jobs_page(after, JOBS_PAGE).await?;
            if page.is_empty() {
                break;
            }
            jobs.extend(page);
        }
        jobs.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        Ok(jobs)
    }

    /// Up to `limit` jobs with ids above `after_id`, by id: page through all
    /// jobs by passing the last id of one page to get the next. The
    /// scheduler loads 100,000 jobs this way without holding them all as
    /// records at once.
    pub async fn list_jobs_page(&self, after_id: JobId, limit: usize) -> Result<Vec<JobRecord>> {
        let op = "listing jobs";
        let sql = match self.backend {
            super::Backend::Sqlite => PAGE_SQLITE,
            super::Backend::Postgres => PAGE_POSTGRES,
        };
        let page: String = sqlx::query_scalar(sql)
            .bind(after_id)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        let rows: Vec<PageRow> = serde_json::from_str(&page)
            .map_err(|e| StoreError::decode(op, format!("unreadable page of jobs: {e}")))?;
        rows.into_iter().map(|row| job_from_page(row, op)).collect()
    }

    /// The job named `name`.
    pub async fn get_job(&self, name: &str) -> Result<Option<JobRecord>> {
        let op = "reading a job";
        let row = sqlx::query(SELECT_BY_NAME)
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.as_ref()
            .map(job_from_row)
            .transpose()
            .map_err(StoreError::query(op))
    }

    /// The job with primary key `id`.
    pub async fn get_job_by_id(&self, id: JobId) -> Result<Option<JobRecord>> {
        let op = "reading a job";
        let row = sqlx::query(SELECT_BY_ID)
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.as_ref()
            .map(job_from_row)
            .transpose()
            .map_err(StoreError::query(op))
    }

    /// Makes the stored jobs match `jobs` in one transaction: all or nothing.
    ///
    /// New names are created (active); existing jobs are updated only when
    /// something differs, keeping their paused state; with `prune`, jobs
    /// missing from `jobs` are deleted with their history.
    pub async fn apply_jobs(&self, jobs: &[JobDefinition], prune: bool) -> Result<ApplyReport> {
        let mut seen = HashSet::new();
        for def in jobs {
            check_definition(def)?;
            if !seen.insert(def.name.as_str()) {
                return Err(StoreError::Invalid {
                    what: format!("job '{}' is given twice", def.name),
                });
            }
        }
        let op = "applying jobs";
        let now = ms(Utc::now());
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let existing: BTreeMap<String, JobRecord> = sqlx::query(SELECT_ALL)
            .fetch_all(&mut *tx)
            .await
            .map_err(StoreError::query(op))?
            .iter()
            .map(|row| job_from_row(row).map(|job| (job.name.clone(), job)))
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))?;

        let mut report = ApplyReport::default();
        for def in jobs {
            match existing.get(&def.name) {
                None => {
                    insert_job(&mut tx, def, now).await.map_err(|e| {
                        let err = StoreError::query(op)(e);
                        if err.is_unique_violation() {
                            name_taken(&def.name)
                        } else {
                            err
                        }
                    })?;
                    report.created.push(def.name.clone());
                }
                Some(job) if job.matches(def) => report.unchanged.push(def.name.clone()),
                Some(job) => {
                    update_if_version(&mut tx, def, job.version, now)
                        .await
                        .map_err(StoreError::query(op))?
                        .ok_or_else(|| edited_meanwhile(&def.name))?;
                    report.updated.push(def.name.clone());
                }
            }
        }
        if prune {
            for name in existing.keys().filter(|name| !seen.contains(name.as_str())) {
                sqlx::query("DELETE FROM jobs WHERE name = $1")
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(op))?;
                report.pruned.push(name.clone());
            }
        }
        if !(report.created.is_empty() && report.updated.is_empty() && report.pruned.is_empty()) {
            bump_jobs_version(&mut tx)
                .await
                .map_err(StoreError::query(op))?;
        }
        tx.commit().await.map_err(StoreError::query(op))?;
        for list in [
            &mut report.created,
            &mut report.updated,
            &mut report.unchanged,
        ] {
            list.sort();
        }
        Ok(report)
    }

    /// Creates a new, active job; `Conflict` if the name is taken.
    pub async fn create_job(&self, def: &JobDefinition) -> Result<JobRecord> {
        self.create_job_with(def, &[]).await
    }

    /// Creates a new, active job and the new destinations it names, in one
    /// transaction: a name taken (the job's or a destination's) writes
    /// neither.
    pub async fn create_job_with(
        &self,
        def: &JobDefinition,
        destinations: &[NewDestination],
    ) -> Result<JobRecord> {
        check_definition(def)?;
        let op = "creating a job";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for new in destinations {
            super::destinations::insert(&mut tx, new, Utc::now(), op).await?;
        }
        let job = insert_job(&mut tx, def, ms(Utc::now()))
            .await
            .map_err(|e| {
                let err = StoreError::query(op)(e);
                if err.is_unique_violation() {
                    name_taken(&def.name)
                } else {
                    err
                }
            })?;
        bump_jobs_version(&mut tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(job)
    }

    /// Updates the job named `def.name`, keeping its paused state.
    ///
    /// With `expected_version` (the version the editor started from), a job
    /// changed by someone else in the meantime gives `Conflict` instead of
    /// being overwritten. An identical definition changes nothing.
    pub async fn update_job(
        &self,
        def: &JobDefinition,
        expected_version: Option<i64>,
    ) -> Result<JobRecord> {
        self.update_job_with(def, expected_version, &[]).await
    }

    /// [`Store::update_job`], creating the new destinations it names in the
    /// same transaction: a refused edit writes none of them.
    pub async fn update_job_with(
        &self,
        def: &JobDefinition,
        expected_version: Option<i64>,
        destinations: &[NewDestination],
    ) -> Result<JobRecord> {
        let op = "updating a job";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        for new in destinations {
            super::destinations::insert(&mut tx, new, Utc::now(), op).await?;
        }
        let row = sqlx::query(SELECT_BY_NAME)
            .bind(&def.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::query(op))?;
        let current = row
            .as_ref()
            .map(job_from_row)
            .transpose()
            .map_err(StoreError::query(op))?
            .ok_or_else(|| StoreError::NotFound {
                what: format!("job '{}'", def.name),
            })?;
        if expected_version.is_some_and(|v| v != current.version) {
            return Err(edited_meanwhile(&def.name));
        }
        if current.matches(def) {
            if !destinations.is_empty() {
                tx.commit().await.map_err(StoreError::query(op))?;
            }
            return Ok(current);
        }
        let job = update_if_version(&mut tx, def, current.version, ms(Utc::now()))
            .await
            .map_err(StoreError::query(op))?
            .ok_or_else(|| edited_meanwhile(&def.name))?;
        bump_jobs_version(&mut tx)
            .await
            .map_err(StoreError::query(op))?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(job)
    }

    /// Pauses or resumes one job; returns whether the job exists.
    pub async fn set_paused(&self, name: &str, paused: bool) -> Result<bool> {
        Ok(self.pause_job(name, paused).await?.is_some())
    }

    /// Pauses or resumes one job like [`Store::set_paused`], and returns the
    /// job's version afterwards (`None` when there is no such job): a caller
    /// that remembers job versions, as the scheduler does, can then tell its
    /// own change from a list of jobs read before it.
    pub async fn pause_job(&self, name: &str, paused: bool) -> Result<Option<i64>> {
        let op = "pausing or resuming a job";
        let now = Utc::now();
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let changed: Option<i64> = sqlx::query_scalar(
            "UPDATE jobs SET paused = $2, updated_at = $3, version = version + 1 \
             WHERE name = $1 AND paused <> $2 RETURNING version",
        )
        .bind(name)
        .bind(i64::from(paused))
        .bind(ms(now))
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::query(op))?;
        let version = match changed {
            Some(version) => {
                bump_jobs_version(&mut tx)
                    .await
                    .map_err(StoreError::query(op))?;
                if paused {
                    sqlx::query(concat!(
                        withdraw_announced!(),
                        " AND job_id = (SELECT id FROM jobs WHERE name = $2)"
                    ))
                    .bind(ms(now))
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(op))?;
                }
                Some(version)
            }
            None => sqlx::query_scalar("SELECT version FROM jobs WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::query(op))?,
        };
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(version)
    }

    /// Pauses or resumes every job; returns how many changed state.
    pub async fn set_all_paused(&self, paused: bool) -> Result<u64> {
        let op = "pausing or resuming all jobs";
        let now = Utc::now();
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let changed = sqlx::query(
            "UPDATE jobs SET paused = $1, updated_at = $2, version = version + 1 \
             WHERE paused <> $1",
        )
        .bind(i64::from(paused))
        .bind(ms(now))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query(op))?
        .rows_affected();
        if changed > 0 {
            bump_jobs_version(&mut tx)
                .await
                .map_err(StoreError::query(op))?;
            if paused {
                sqlx::query(withdraw_announced!())
                    .bind(ms(now))
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::query(op))?;
            }
        }
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(changed)
    }

    /// Deletes a job with its runs, attempts and logs; returns whether it
    /// existed.
    pub async fn delete_job(&self, name: &str) -> Result<bool> {
        let op = "deleting a job";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let deleted = sqlx::query("DELETE FROM jobs WHERE name = $1")
            .bind(name)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query(op))?
            .rows_affected();
        if deleted > 0 {
            bump_jobs_version(&mut tx)
                .await
                .map_err(StoreError::query(op))?;
        }
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(deleted > 0)
    }

    /// A counter bumped by every job change: poll it to notice edits made by
    /// other processes without reloading all jobs.
    pub async fn jobs_version(&self) -> Result<i64> {
        sqlx::query_scalar("SELECT value FROM store_meta WHERE key = 'jobs_version'")
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::query("reading the jobs version"))
    }
}

//! Named destinations made in the console, kept in the store so that every
//! instance sharing it can deliver to them. The store keeps each
//! definition verbatim (JSON of the config's `[destinations.NAME]` type)
//! and never looks inside; checking it is the caller's.

use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::error::{Result, StoreError};
use super::jobs::bump_jobs_version;
use super::{Store, ms, time};

macro_rules! select {
    () => {
        "SELECT name, kind, definition, created_at FROM destinations"
    };
}

/// A destination to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDestination {
    /// Its name, unique among stored destinations.
    pub name: String,
    /// Its kind (`local`), for listings.
    pub kind: String,
    /// The definition as JSON.
    pub definition: String,
}

/// A destination as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDestination {
    /// Its name.
    pub name: String,
    /// Its kind (`local`).
    pub kind: String,
    /// The definition as JSON.
    pub definition: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &AnyRow) -> sqlx::Result<StoredDestination> {
    Ok(StoredDestination {
        name: row.try_get("name")?,
        kind: row.try_get("kind")?,
        definition: row.try_get("definition")?,
        created_at: time(row, "created_at")?,
    })
}

/// Conflict error for a name that is taken.
fn name_taken(name: &str) -> StoreError {
    StoreError::Conflict {
        what: format!("a destination named '{name}' already exists in the store"),
    }
}

/// Inserts `new` on `conn` (inside the caller's transaction); a name that
/// is taken gives `Conflict`. Records the change in the jobs version: jobs
/// that name it may now be scheduled, and instances reload on that counter.
pub(super) async fn insert(
    conn: &mut AnyConnection,
    new: &NewDestination,
    now: DateTime<Utc>,
    op: &'static str,
) -> Result<StoredDestination> {
    if new.name.trim().is_empty() || new.kind.trim().is_empty() {
        return Err(StoreError::Invalid {
            what: "a destination needs a name and a kind".to_owned(),
        });
    }
    let row = sqlx::query(
        "INSERT INTO destinations (name, kind, definition, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING name, kind, definition, created_at",
    )
    .bind(&new.name)
    .bind(&new.kind)
    .bind(&new.definition)
    .bind(ms(now))
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        let err = StoreError::query(op)(e);
        if err.is_unique_violation() {
            name_taken(&new.name)
        } else {
            err
        }
    })?;
    let stored = from_row(&row).map_err(StoreError::query(op))?;
    bump_jobs_version(conn)
        .await
        .map_err(StoreError::query(op))?;
    Ok(stored)
}

impl Store {
    /// Every stored destination, by name.
    pub async fn list_destinations(&self) -> Result<Vec<StoredDestination>> {
        let op = "listing destinations";
        let rows = sqlx::query(concat!(select!(), " ORDER BY name"))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        rows.iter()
            .map(from_row)
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::query(op))
    }

    /// The stored destination named `name`, if there is one.
    pub async fn get_destination(&self, name: &str) -> Result<Option<StoredDestination>> {
        let op = "reading a destination";
        let row = sqlx::query(concat!(select!(), " WHERE name = $1"))
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::query(op))?;
        row.as_ref()
            .map(from_row)
            .transpose()
            .map_err(StoreError::query(op))
    }

    /// Stores a new destination; `Conflict` if the name is taken.
    pub async fn create_destination(&self, new: &NewDestination) -> Result<StoredDestination> {
        let op = "creating a destination";
        let mut tx = self.write_tx().await.map_err(StoreError::query(op))?;
        let stored = insert(&mut tx, new, Utc::now(), op).await?;
        tx.commit().await.map_err(StoreError::query(op))?;
        Ok(stored)
    }
}

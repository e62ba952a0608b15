//! Errors of the store, worded for the operator who has to act on them.

use thiserror::Error;

/// Everything that can go wrong talking to the store.
///
/// Each message is complete on its own (it names the store or the operation
/// and includes the underlying cause), so the binary can print it as is.
/// Causes are embedded in the message rather than exposed as `source()` so
/// that error-chain printers do not repeat them.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The store could not be opened or reached: bad URL, unreadable folder,
    /// database server down, wrong credentials.
    #[error("cannot open the store at {url}: {cause}")]
    Open {
        /// The store URL with any password redacted.
        url: String,
        /// What went wrong, as reported by the OS or the database.
        cause: String,
    },

    /// The schema could not be brought up to date.
    #[error("cannot migrate the store at {url}: {cause}")]
    Migrate {
        /// The store URL with any password redacted.
        url: String,
        /// What the migrator reported.
        cause: String,
    },

    /// A statement failed while the store was doing `op`.
    #[error("store query failed while {op}: {source}")]
    Query {
        /// What the store was doing, e.g. "claiming run slots".
        op: &'static str,
        /// The database error.
        source: sqlx::Error,
    },

    /// The thing asked for does not exist (any more).
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. "job 'daily-sales'".
        what: String,
    },

    /// The change clashes with the stored state: a name taken, an edit made by
    /// someone else in the meantime, a slot already claimed.
    #[error("{what}")]
    Conflict {
        /// A full sentence describing the clash and what to do.
        what: String,
    },

    /// The caller passed something the store cannot record, e.g. a finished
    /// run with a non-final status.
    #[error("invalid store request: {what}")]
    Invalid {
        /// What was wrong with the request.
        what: String,
    },
}

/// Shorthand used throughout the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Wraps a sqlx error with the operation it happened in.
    pub(crate) fn query(op: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Query { op, source }
    }

    /// A value read from the database could not be understood (a corrupt or
    /// newer-schema row); reported as a failed query of `op`.
    pub(crate) fn decode(op: &'static str, detail: impl Into<String>) -> StoreError {
        StoreError::Query {
            op,
            source: sqlx::Error::Decode(detail.into().into()),
        }
    }

    /// True when the error is a unique-constraint violation in the database.
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Query {
                source: sqlx::Error::Database(db),
                ..
            } => db.is_unique_violation(),
            _ => false,
        }
    }
}

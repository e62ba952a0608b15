//! Multi-row statements for the group-commit paths.
//!
//! One statement per row costs a round trip to sqlx's SQLite worker thread
//! each (tens of microseconds), which capped recording at a few thousand runs
//! a second. Instead, rows are sent as `VALUES (...), (...)` lists in a few
//! fixed sizes: each size is one prepared statement that sqlx caches, and a
//! batch of 1,000 rows needs about twenty statements instead of 1,000.
//!
//! The templates use only syntax both databases share: a `VALUES` list in
//! `FROM` with an alias names its columns `column1`, `column2`... on SQLite
//! and PostgreSQL alike, and both accept `UPDATE ... FROM`. Only the
//! placeholders differ: SQLite gets plain `?`, because binding hundreds of
//! `$n` parameters makes sqlx look each name up with
//! `sqlite3_bind_parameter_name`, a linear scan per parameter (it was a fifth
//! of the recording time).

use std::sync::{Arc, OnceLock};

use sqlx::AssertSqlSafe;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::Query;

use super::Backend;

/// A query with its arguments bound (values are copied in when bound).
pub(super) type AnyQuery = Query<'static, Any, AnyArguments>;

/// The row counts statements are prepared for, largest first. Batches are
/// cut greedily into these, so at most 3 of each smaller size follow the 64s.
pub(super) const CHUNK_SIZES: [usize; 4] = [64, 16, 4, 1];

/// A statement of the form `head (VALUES (...), ...) AS v tail`.
pub(super) struct MultiRow {
    head: &'static str,
    columns: usize,
    tail: &'static str,
    sqlite: OnceLock<[Arc<str>; CHUNK_SIZES.len()]>,
    postgres: OnceLock<[Arc<str>; CHUNK_SIZES.len()]>,
}

impl MultiRow {
    /// A template whose rows have `columns` values each.
    pub(super) const fn new(head: &'static str, columns: usize, tail: &'static str) -> MultiRow {
        MultiRow {
            head,
            columns,
            tail,
            sqlite: OnceLock::new(),
            postgres: OnceLock::new(),
        }
    }

    /// The SQL for `rows` rows, prepared once for the sizes in [`CHUNK_SIZES`].
    fn sql(&self, backend: Backend, rows: usize) -> Arc<str> {
        let cache = match backend {
            Backend::Sqlite => &self.sqlite,
            Backend::Postgres => &self.postgres,
        };
        let all = cache.get_or_init(|| CHUNK_SIZES.map(|n| self.render(backend, n).into()));
        match CHUNK_SIZES.iter().position(|&n| n == rows) {
            Some(index) => Arc::clone(&all[index]),
            None => self.render(backend, rows).into(),
        }
    }

    /// Writes out the statement for `rows` rows.
    fn render(&self, backend: Backend, rows: usize) -> String {
        let mut sql = String::from(self.head);
        sql.push_str("(VALUES ");
        let mut n = 0;
        for row in 0..rows {
            if row > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for col in 0..self.columns {
                if col > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                match backend {
                    Backend::Sqlite => sql.push('?'),
                    Backend::Postgres => {
                        sql.push('$');
                        sql.push_str(&n.to_string());
                    }
                }
            }
            sql.push(')');
        }
        sql.push_str(") AS v ");
        sql.push_str(self.tail);
        sql
    }

    /// A query for `items` (a chunk from [`chunks`]) with each item's values
    /// bound by `bind`, which must bind exactly `columns` values.
    pub(super) fn query<T>(
        &self,
        backend: Backend,
        items: &[T],
        bind: impl Fn(AnyQuery, &T) -> AnyQuery,
    ) -> AnyQuery {
        // Built only from the constant templates, never from input.
        let sql = AssertSqlSafe(self.sql(backend, items.len()));
        items.iter().fold(sqlx::query(sql), bind)
    }
}

/// Cuts `items` into consecutive chunks whose lengths are in [`CHUNK_SIZES`].
pub(super) fn chunks<T>(mut items: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let size = CHUNK_SIZES.iter().copied().find(|&n| n <= items.len())?;
        let (chunk, rest) = items.split_at(size);
        items = rest;
        Some(chunk)
    })
}

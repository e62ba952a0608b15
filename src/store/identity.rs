//! The store's identity: a random id written by migration 0003 when the
//! store is created or upgraded, read once when it is opened.

use sqlx::AnyPool;

use super::error::{Result, StoreError};

/// Hex digits in an identity (128 bits).
const DIGITS: usize = 32;

/// Reads the store's identity. It names a folder on disk, so anything but
/// 32 lower-case hex digits (a hand-edited row) is refused rather than
/// joined to a path.
pub(super) async fn read(pool: &AnyPool, url: &str) -> Result<std::sync::Arc<str>> {
    let id: Option<String> = sqlx::query_scalar("SELECT id FROM store_identity WHERE one = 1")
        .fetch_optional(pool)
        .await
        .map_err(StoreError::query("reading the store's identity"))?;
    let Some(id) = id else {
        return Err(StoreError::Open {
            url: url.to_owned(),
            cause: "the store has no identity (table store_identity is empty); \
                    it is written by the migration that creates the table, so the \
                    row was deleted by hand"
                .to_owned(),
        });
    };
    if !is_identity(&id) {
        return Err(StoreError::Open {
            url: url.to_owned(),
            cause: format!(
                "the store's identity {id:?} in table store_identity is not \
                 {DIGITS} lower-case hex digits"
            ),
        });
    }
    Ok(id.into())
}

/// Whether `id` has the shape of an identity.
fn is_identity(id: &str) -> bool {
    id.len() == DIGITS && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

//! The store's identity: written once, the same for every handle, present
//! after an upgrade, refused when tampered with.

use super::{TestDb, store_test};
use crate::store::{Store, StoreError};

store_test!(
    identity_is_written_once_and_read_by_every_handle,
    an_upgraded_store_gets_an_identity,
    a_deleted_or_bad_identity_is_an_open_error,
);

fn assert_shape(id: &str) {
    assert_eq!(id.len(), 32, "{id}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{id}"
    );
}

async fn identity_is_written_once_and_read_by_every_handle(db: TestDb) {
    let first = db.open().await;
    let id = first.identity().to_owned();
    assert_shape(&id);
    first.close().await;
    // Reopening (the migrator runs again) keeps it; another store differs.
    assert_eq!(db.open().await.identity(), id);
    let other = Store::open("sqlite::memory:").await.expect("memory store");
    assert_shape(other.identity());
    assert_ne!(other.identity(), id);
}

async fn an_upgraded_store_gets_an_identity(db: TestDb) {
    // A store made by a cronport from before migration 0003.
    let pool = db.migrated_before(3).await;
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(before, 2);
    pool.close().await;

    let store = db.open().await;
    assert_shape(store.identity());
    assert_eq!(db.open().await.identity(), store.identity());
}

async fn a_deleted_or_bad_identity_is_an_open_error(db: TestDb) {
    let store = db.open().await;
    sqlx::query("UPDATE store_identity SET id = '../../elsewhere'")
        .execute(&store.pool)
        .await
        .expect("tamper");
    let refused = Store::open(&db.url).await.expect_err("a bad identity");
    assert!(
        matches!(&refused, StoreError::Open { cause, .. } if cause.contains("\"../../elsewhere\"")),
        "{refused}"
    );
    sqlx::query("DELETE FROM store_identity")
        .execute(&store.pool)
        .await
        .expect("delete");
    let refused = Store::open(&db.url).await.expect_err("no identity");
    assert!(refused.to_string().contains("store_identity"), "{refused}");
}

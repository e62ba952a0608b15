//! object_store's az:// URLs against Azurite, Microsoft's blob emulator:
//! one put, uploads in blocks, a failed upload, redelivery of a fire.

use std::sync::Once;

use crate::common::servers::{AZURITE_ACCOUNT, AZURITE_KEY, Azurite};
use crate::{artifact, ctx, destination, slot};

const MIB: usize = 1024 * 1024;

fn key_env() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any destination in this process reads it.
    ONCE.call_once(|| unsafe { std::env::set_var("CRONPORT_TEST_AZ_KEY", AZURITE_KEY) });
}

/// Azurite with a fresh container.
fn container(name: &str) -> Azurite {
    key_env();
    let azurite = Azurite::start();
    azurite.create_container(name);
    azurite
}

fn config(azurite: &Azurite, container: &str) -> String {
    format!(
        r#"kind = "object_store"
url = "az://{container}/reports/"
path = "{{job}}/{{date:%Y-%m-%d}}.{{ext}}"
account = "{AZURITE_ACCOUNT}"
access_key_env = "CRONPORT_TEST_AZ_KEY"
endpoint = "{}"
allow_http = true"#,
        azurite.endpoint()
    )
}

/// A blob as Azurite holds it, read with a client of the test's own: body
/// and fire id metadata.
async fn blob(azurite: &Azurite, container: &str, key: &str) -> Option<(Vec<u8>, Option<String>)> {
    use object_store::{Attribute, GetOptions, ObjectStore as _};
    let store = object_store::azure::MicrosoftAzureBuilder::new()
        .with_account(AZURITE_ACCOUNT)
        .with_access_key(AZURITE_KEY)
        .with_container_name(container)
        .with_endpoint(azurite.endpoint())
        .with_allow_http(true)
        .build()
        .unwrap();
    match store.get_opts(&key.into(), GetOptions::default()).await {
        Ok(found) => {
            let fire = found
                .attributes
                .get(&Attribute::Metadata("cronport_fire_id".into()))
                .map(|v| v.as_ref().to_string());
            Some((found.bytes().await.unwrap().to_vec(), fire))
        }
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("reading {key}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_put_carries_the_fire_id_and_a_redelivery_does_not_upload_again() {
    let azurite = container("single");
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&azurite, "single"), dir.path());
    let (first, data) = artifact(dir.path(), "a.csv", 4096, 1);
    let location = dest
        .deliver(&first, &ctx("daily-sales", 1, slot(0)))
        .await
        .unwrap();
    assert_eq!(location, "az://single/reports/daily-sales/2026-03-08.csv");
    let key = "reports/daily-sales/2026-03-08.csv";
    let (body, fire) = blob(&azurite, "single", key).await.expect("uploaded");
    assert!(body == data);
    assert_eq!(fire.as_deref(), Some("daily-sales@20260308T020000.000Z"));

    // The same fire again, re-rendered differently: nothing is uploaded.
    let (again, _) = artifact(dir.path(), "b.csv", 5000, 2);
    let retry = ctx("daily-sales", 2, slot(0));
    assert_eq!(dest.deliver(&again, &retry).await.unwrap(), location);
    assert!(blob(&azurite, "single", key).await.unwrap().0 == data);

    // Another fire of the same day replaces it.
    let manual = ctx("daily-sales", 3, slot(0) + chrono::Duration::hours(3));
    dest.deliver(&again, &manual).await.unwrap();
    let (body, fire) = blob(&azurite, "single", key).await.unwrap();
    assert_eq!(body.len(), 5000);
    assert_eq!(fire.as_deref(), Some("daily-sales@20260308T050000.000Z"));

    dest.retract(&location).await.unwrap();
    assert!(blob(&azurite, "single", key).await.is_none());
    let detail = dest.check().await.unwrap();
    assert!(detail.contains("az://single/reports/"), "{detail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_goes_up_in_blocks_and_a_failed_one_leaves_no_blob() {
    let azurite = container("large");
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&azurite, "large"), dir.path());
    let (big, data) = artifact(dir.path(), "big.csv", 20 * MIB + 123, 3);
    dest.deliver(&big, &ctx("big-job", 1, slot(1)))
        .await
        .unwrap();
    let key = "reports/big-job/2026-03-09.csv";
    let (body, fire) = blob(&azurite, "large", key).await.expect("uploaded");
    assert!(body == data, "the blob differs from the file");
    assert_eq!(fire.as_deref(), Some("big-job@20260309T020000.000Z"));
    // Put Block per 8 MiB part, then Put Block List: three blocks.
    let blocks = azurite.request("GET", &format!("/large/{key}"), &["comp=blocklist"]);
    assert_eq!(blocks.matches("<Block>").count(), 3, "{blocks}");

    // A spool file shorter than rendered: the block list is never
    // committed, so no blob exists under the key.
    let (mut short, _) = artifact(dir.path(), "short.csv", 12 * MIB, 4);
    short.bytes = 20 * MIB as u64;
    let err = dest
        .deliver(&short, &ctx("short-job", 1, slot(2)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ended after 12582912 of 20971520 bytes"),
        "{err}"
    );
    assert!(
        blob(&azurite, "large", "reports/short-job/2026-03-10.csv")
            .await
            .is_none()
    );
    let listing = azurite.request("GET", "/large", &["restype=container", "comp=list"]);
    assert!(!listing.contains("short-job"), "{listing}");
}

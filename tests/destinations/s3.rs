//! object_store against moto's S3 server.

use std::sync::Once;

use crate::common::proxy::Proxy;
use crate::common::servers::{Server, moto};
use crate::{artifact, config_error, ctx, destination, slot};

const MIB: usize = 1024 * 1024;

/// The keys the S3 configs name, in this process's environment.
pub(crate) fn credentials() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any destination in this process reads them.
    ONCE.call_once(|| unsafe {
        std::env::set_var("CRONPORT_TEST_S3_KEY", "testing-key-id");
        std::env::set_var("CRONPORT_TEST_S3_SECRET", "testing-secret-value");
    });
}

/// moto with a fresh bucket.
async fn bucket(name: &str) -> Server {
    credentials();
    let server = moto();
    create_bucket(server.port, name).await;
    server
}

/// Create the bucket `name` in the moto server on `port`.
pub(crate) async fn create_bucket(port: u16, name: &str) {
    let response = reqwest::Client::new()
        .put(format!("http://127.0.0.1:{port}/{name}"))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "create bucket: {response:?}"
    );
}

/// The body of an object_store destination for `bucket` on moto's `port`.
pub(crate) fn config(port: u16, bucket: &str) -> String {
    format!(
        r#"kind = "object_store"
url = "s3://{bucket}/reports/"
path = "{{job}}/{{date:%Y-%m-%d}}.{{ext}}"
region = "us-east-1"
endpoint = "http://127.0.0.1:{port}"
allow_http = true
access_key_id_env = "CRONPORT_TEST_S3_KEY"
secret_access_key_env = "CRONPORT_TEST_S3_SECRET""#
    )
}

/// An object as moto holds it, read with a client of the test's own
/// (moto refuses anonymous reads of objects): body, fire id metadata, ETag.
pub(crate) async fn object(
    port: u16,
    bucket: &str,
    key: &str,
) -> Option<(Vec<u8>, Option<String>, String)> {
    use object_store::{Attribute, GetOptions, ObjectStore as _};
    let store = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_access_key_id("testing-key-id")
        .with_secret_access_key("testing-secret-value")
        .build()
        .unwrap();
    match store.get_opts(&key.into(), GetOptions::default()).await {
        Ok(found) => {
            let fire = found
                .attributes
                .get(&Attribute::Metadata("cronport-fire-id".into()))
                .map(|v| v.as_ref().to_string());
            let etag = found.meta.e_tag.clone().unwrap_or_default();
            Some((found.bytes().await.unwrap().to_vec(), fire, etag))
        }
        Err(object_store::Error::NotFound { .. }) => None,
        Err(e) => panic!("reading {key}: {e}"),
    }
}

/// A bucket-level request to moto without cronport: status, headers, body.
pub(crate) async fn raw_get(port: u16, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = reqwest::get(format!("http://127.0.0.1:{port}/{path}"))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

#[tokio::test]
async fn single_put_carries_the_fire_id_and_a_redelivery_does_not_upload_again() {
    let server = bucket("single").await;
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(server.port, "single"), dir.path());
    let (first, data) = artifact(dir.path(), "a.csv", 4096, 1);
    let run = ctx("daily-sales", 1, slot(0));
    let location = dest.deliver(&first, &run).await.unwrap();
    assert_eq!(location, "s3://single/reports/daily-sales/2026-03-08.csv");
    let key = "reports/daily-sales/2026-03-08.csv";
    let (body, fire, _) = object(server.port, "single", key).await.expect("uploaded");
    assert!(body == data);
    assert_eq!(fire.as_deref(), Some("daily-sales@20260308T020000.000Z"));

    // The same slot again (a retry after a crash, another attempt): the
    // object with this fire id is there, so nothing is uploaded, even though
    // the re-rendered file differs.
    let (again, _) = artifact(dir.path(), "b.csv", 5000, 2);
    let retry = ctx("daily-sales", 2, slot(0));
    assert_eq!(dest.deliver(&again, &retry).await.unwrap(), location);
    assert!(object(server.port, "single", key).await.unwrap().0 == data);

    // A different fire (a manual run the same day) replaces it.
    let manual = ctx("daily-sales", 3, slot(0) + chrono::Duration::hours(3));
    dest.deliver(&again, &manual).await.unwrap();
    let (body, fire, _) = object(server.port, "single", key).await.unwrap();
    assert_eq!(body.len(), 5000);
    assert_eq!(fire.as_deref(), Some("daily-sales@20260308T050000.000Z"));

    dest.retract(&location).await.unwrap();
    assert!(object(server.port, "single", key).await.is_none());
}

#[tokio::test]
async fn a_large_file_goes_up_in_parts() {
    let server = bucket("large").await;
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(server.port, "large"), dir.path());
    let (big, data) = artifact(dir.path(), "big.csv", 20 * MIB + 123, 3);
    dest.deliver(&big, &ctx("big-job", 1, slot(1)))
        .await
        .unwrap();
    let (body, fire, etag) = object(server.port, "large", "reports/big-job/2026-03-09.csv")
        .await
        .expect("uploaded");
    assert!(body == data, "the object differs from the file");
    // S3 gives multipart objects an ETag ending in -<parts>: 8 MiB parts.
    let etag = etag.trim_matches('"').to_string();
    assert!(
        etag.ends_with("-3"),
        "etag {etag} is not of a 3-part upload"
    );
    assert_eq!(fire.as_deref(), Some("big-job@20260309T020000.000Z"));
}

#[tokio::test]
async fn a_failed_multipart_upload_is_aborted_and_leaves_no_object() {
    let server = bucket("failing").await;
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(server.port, "failing"), dir.path());
    // The spool file is shorter than rendered: the upload must not
    // complete with what it has.
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
    let key = "reports/short-job/2026-03-10.csv";
    assert!(object(server.port, "failing", key).await.is_none());
    let (status, _, listing) = raw_get(server.port, "failing?uploads").await;
    assert_eq!(status, 200);
    let listing = String::from_utf8(listing).unwrap();
    assert!(
        !listing.contains("<UploadId>"),
        "an upload is still open: {listing}"
    );
}

#[tokio::test]
async fn a_server_cut_off_mid_upload_fails_the_delivery_and_leaves_no_object() {
    let server = bucket("cut").await;
    let proxy = Proxy::start(server.port, 10 * MIB as u64).await;
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(proxy.port, "cut"), dir.path());
    let (big, _) = artifact(dir.path(), "big.csv", 20 * MIB, 5);
    let result = dest.deliver(&big, &ctx("cut-job", 1, slot(3))).await;
    assert!(proxy.was_cut());
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("s3://cut/reports/cut-job/2026-03-11.csv"),
        "{err}"
    );
    assert!(
        object(server.port, "cut", "reports/cut-job/2026-03-11.csv")
            .await
            .is_none()
    );
}

#[tokio::test]
async fn check_writes_and_removes_a_probe() {
    let server = bucket("probe").await;
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(server.port, "probe"), dir.path());
    let detail = dest.check().await.unwrap();
    assert!(detail.contains("s3://probe/reports/"), "{detail}");
    let (status, _, listing) = raw_get(server.port, "probe").await;
    assert_eq!(status, 200);
    let listing = String::from_utf8(listing).unwrap();
    assert!(
        !listing.contains("<Key>"),
        "the probe is still there: {listing}"
    );

    // A bucket that does not exist fails the check with the bucket named.
    let missing = destination(&config(server.port, "missing"), dir.path());
    let err = missing.check().await.unwrap_err().to_string();
    assert!(err.contains("s3://missing/reports/"), "{err}");
}

#[tokio::test]
async fn an_unset_credential_names_the_variable_and_no_value() {
    let dir = tempfile::tempdir().unwrap();
    let body = r#"kind = "object_store"
url = "s3://b/"
endpoint = "http://127.0.0.1:9"
allow_http = true
access_key_id_env = "CRONPORT_TEST_UNSET_KEY"
secret_access_key_env = "CRONPORT_TEST_UNSET_SECRET""#;
    let dest = destination(body, dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 10, 1);
    let err = dest
        .deliver(&a, &ctx("j", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "access_key_id_env: environment variable CRONPORT_TEST_UNSET_KEY is not set"
    );
}

#[test]
fn bad_settings_name_the_key() {
    for (body, expected) in [
        (
            "kind = \"object_store\"\nurl = \"ftp://host/x\"",
            "destinations.d.url: scheme \"ftp\" is not supported",
        ),
        (
            "kind = \"object_store\"\nurl = \"gs://bucket/\"\nregion = \"eu\"",
            "destinations.d.region: does not apply to gs:// URLs",
        ),
        (
            "kind = \"object_store\"\nurl = \"s3://bucket/\"\nendpoint = \"http://127.0.0.1:9000\"",
            "destinations.d.endpoint: is plain http: set allow_http = true",
        ),
        (
            "kind = \"object_store\"\nurl = \"s3://bucket/\"\naccess_key_id_env = \"K\"",
            "destinations.d.secret_access_key_env: give both",
        ),
        (
            "kind = \"object_store\"\nurl = \"s3://bucket/\"\npath = \"../{job}\"",
            "destinations.d.path: the pattern could leave the destination root",
        ),
        (
            "kind = \"object_store\"\nurl = \"s3://bucket/\"\nsecret = \"x\"",
            "unknown field `secret`",
        ),
    ] {
        let err = config_error(body);
        assert!(err.contains(expected), "{body}\n-> {err}");
    }
}

#[tokio::test]
async fn file_urls_write_into_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("bucket");
    let body = format!(
        "kind = \"object_store\"\nurl = \"file://{}/\"\npath = \"{{job}}/{{run_id}}.{{ext}}\"",
        root.display()
    );
    let dest = destination(&body, dir.path());
    let (a, data) = artifact(dir.path(), "a.csv", 1000, 9);
    let location = dest.deliver(&a, &ctx("files", 7, slot(0))).await.unwrap();
    assert_eq!(std::fs::read(root.join("files/7.csv")).unwrap(), data);
    dest.retract(&location).await.unwrap();
    assert!(!root.join("files/7.csv").exists());
}

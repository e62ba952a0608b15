//! The gdrive destination against a local server that checks each request
//! follows the documented Google Drive v3 API (the real service cannot be
//! reached from here).

use std::sync::Once;

use crate::common::servers::{GDRIVE_APP, GdriveApi};
use crate::{artifact, config_error, ctx, destination, slot};

fn env() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any destination in this process reads them.
    ONCE.call_once(|| unsafe {
        std::env::set_var("CRONPORT_TEST_GD_ID", GDRIVE_APP.0);
        std::env::set_var("CRONPORT_TEST_GD_SECRET", GDRIVE_APP.1);
        std::env::set_var("CRONPORT_TEST_GD_REFRESH", GDRIVE_APP.2);
    });
}

fn config(api: &GdriveApi) -> String {
    env();
    format!(
        "kind = \"gdrive\"\nfolder_id = \"folder-1\"\npath = \"{{job}}'s {{date:%Y-%m-%d}}.{{ext}}\"\n\
         client_id_env = \"CRONPORT_TEST_GD_ID\"\nclient_secret_env = \"CRONPORT_TEST_GD_SECRET\"\n\
         refresh_token_env = \"CRONPORT_TEST_GD_REFRESH\"\ntoken_url = \"{url}/token\"\napi_url = \"{url}\"\n",
        url = api.url()
    )
}

#[tokio::test]
async fn uploads_once_per_fire_by_the_documented_api() {
    let api = GdriveApi::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&api), dir.path());
    let (small, data) = artifact(dir.path(), "s.csv", 4000, 1);
    let location = dest
        .deliver(&small, &ctx("sales", 1, slot(0)))
        .await
        .unwrap();
    assert!(
        location.starts_with("gdrive:folder-1/sales's 2026-03-08.csv (id file-"),
        "{location}"
    );
    let files = api.files();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].0["name"], "sales's 2026-03-08.csv");
    assert_eq!(
        files[0].0["appProperties"]["cronport_fire_id"],
        "sales@20260308T020000.000Z"
    );
    assert!(files[0].1 == data);

    // The same fire: found by its appProperties, not uploaded again.
    let (other, _) = artifact(dir.path(), "o.csv", 10, 2);
    dest.deliver(&other, &ctx("sales", 2, slot(0)))
        .await
        .unwrap();
    assert_eq!(api.files().len(), 1);
    assert!(api.files()[0].1 == data);

    // Another fire of the same name: 12 MB through a resumable upload, and
    // the older file replaced once the new one is complete.
    let (big, big_data) = artifact(dir.path(), "b.csv", 12 * 1024 * 1024 + 5, 3);
    let later = slot(0) + chrono::Duration::hours(1);
    let big_location = dest.deliver(&big, &ctx("sales", 3, later)).await.unwrap();
    let files = api.files();
    assert_eq!(files.len(), 1);
    assert!(files[0].1 == big_data);
    let puts = api.requests().iter().filter(|r| r.0 == "PUT").count();
    assert_eq!(puts, 2, "8 MiB and the rest");

    dest.retract(&big_location).await.unwrap();
    assert!(api.files().is_empty());
    let detail = dest.check().await.unwrap();
    assert!(detail.contains("is writable"), "{detail}");
    assert!(api.files().is_empty(), "probe left behind");
    let refused: Vec<_> = api
        .requests()
        .into_iter()
        .filter(|r| !matches!(r.2, 200 | 204 | 308))
        .collect();
    assert!(
        refused.is_empty(),
        "requests off the documented API: {refused:?}"
    );
}

#[test]
fn bad_settings_name_the_key() {
    let base = "kind = \"gdrive\"\nclient_id_env = \"I\"\nclient_secret_env = \"S\"\nrefresh_token_env = \"R\"\n";
    for (extra, expected) in [
        (
            "folder_id = \"\"",
            "destinations.d.folder_id: is not a Drive folder id",
        ),
        (
            "folder_id = \"f\"\npath = \"{job}/{ext}\"",
            "destinations.d.path: Drive has no paths",
        ),
        (
            "folder_id = \"f\"\ntoken_url = \"x\"",
            "destinations.d.token_url:",
        ),
    ] {
        let err = config_error(&format!("{base}{extra}"));
        assert!(err.contains(expected), "{extra}\n-> {err}");
    }
}

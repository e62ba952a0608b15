//! The dropbox destination against a local server that checks each request
//! follows Dropbox's documented HTTP API (the real service cannot be
//! reached from here).

use std::sync::Once;

use crate::common::servers::{DROPBOX_APP, DropboxApi};
use crate::{artifact, config_error, ctx, destination, slot};

fn env() {
    static ONCE: Once = Once::new();
    // SAFETY: set once, before any destination in this process reads them.
    ONCE.call_once(|| unsafe {
        std::env::set_var("CRONPORT_TEST_DBX_KEY", DROPBOX_APP.0);
        std::env::set_var("CRONPORT_TEST_DBX_SECRET", DROPBOX_APP.1);
        std::env::set_var("CRONPORT_TEST_DBX_REFRESH", DROPBOX_APP.2);
        std::env::set_var("CRONPORT_TEST_DBX_WRONG", "not-the-token");
    });
}

fn config(api: &DropboxApi, refresh_env: &str) -> String {
    env();
    format!(
        "kind = \"dropbox\"\nfolder = \"/Reports/Été\"\npath = \"{{job}}/{{date:%Y-%m-%d}}.{{ext}}\"\n\
         app_key_env = \"CRONPORT_TEST_DBX_KEY\"\napp_secret_env = \"CRONPORT_TEST_DBX_SECRET\"\n\
         refresh_token_env = \"{refresh_env}\"\napi_url = \"{url}\"\ncontent_url = \"{url}\"\n",
        url = api.url()
    )
}

fn refused(api: &DropboxApi) -> Vec<(String, u16, String)> {
    api.requests()
        .into_iter()
        .filter(|(_, status, _)| *status != 200 && *status != 409)
        .collect()
}

#[tokio::test]
async fn uploads_small_and_large_files_once_per_fire_by_the_documented_api() {
    let api = DropboxApi::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&api, "CRONPORT_TEST_DBX_REFRESH"), dir.path());
    let (small, data) = artifact(dir.path(), "s.csv", 5000, 1);
    let location = dest
        .deliver(&small, &ctx("sales", 1, slot(0)))
        .await
        .unwrap();
    assert_eq!(location, "dropbox:/Reports/Été/sales/2026-03-08.csv");
    let file = api.file("/Reports/Été/sales/2026-03-08.csv");
    assert!(std::fs::read(&file).unwrap() == data);

    // The same fire again: recognised by client_modified, not uploaded.
    let (other, _) = artifact(dir.path(), "o.csv", 10, 2);
    dest.deliver(&other, &ctx("sales", 2, slot(0)))
        .await
        .unwrap();
    assert!(std::fs::read(&file).unwrap() == data);
    let uploads = |api: &DropboxApi| {
        api.requests()
            .iter()
            .filter(|(e, _, _)| e.starts_with("/2/files/upload"))
            .count()
    };
    assert_eq!(uploads(&api), 1);

    // 20 MiB: an upload session of three pieces, committed at the end.
    let (big, big_data) = artifact(dir.path(), "b.csv", 20 * 1024 * 1024 + 7, 3);
    dest.deliver(&big, &ctx("sales", 3, slot(1))).await.unwrap();
    let big_file = api.file("/Reports/Été/sales/2026-03-09.csv");
    assert!(std::fs::read(&big_file).unwrap() == big_data);
    let endpoints: Vec<String> = api.requests().into_iter().map(|r| r.0).collect();
    for e in [
        "/2/files/upload_session/start",
        "/2/files/upload_session/append_v2",
        "/2/files/upload_session/finish",
    ] {
        assert!(
            endpoints.iter().any(|x| x == e),
            "{e} not used: {endpoints:?}"
        );
    }

    dest.retract(&location).await.unwrap();
    assert!(!file.exists());
    let detail = dest.check().await.unwrap();
    assert!(detail.contains("is writable"), "{detail}");
    assert!(
        refused(&api).is_empty(),
        "requests off the documented API: {:?}",
        refused(&api)
    );
}

#[tokio::test]
async fn a_wrong_refresh_token_fails_without_showing_it() {
    let api = DropboxApi::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = destination(&config(&api, "CRONPORT_TEST_DBX_WRONG"), dir.path());
    let (a, _) = artifact(dir.path(), "a.csv", 10, 1);
    let err = dest
        .deliver(&a, &ctx("sales", 1, slot(0)))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("log in to dropbox") && err.contains("invalid_grant"),
        "{err}"
    );
    assert!(
        !err.contains("not-the-token") && !err.contains(DROPBOX_APP.1),
        "{err}"
    );
}

#[test]
fn bad_settings_name_the_key() {
    let base = "kind = \"dropbox\"\napp_key_env = \"K\"\napp_secret_env = \"S\"\nrefresh_token_env = \"R\"\n";
    for (extra, expected) in [
        (
            "folder = \"Reports\"",
            "destinations.d.folder: must start with /",
        ),
        (
            "folder = \"/a/../b\"",
            "destinations.d.folder: may not contain ..",
        ),
        (
            "folder = \"/a\"\napi_url = \"ftp://x\"",
            "destinations.d.api_url: must be an http(s) URL",
        ),
        ("folder = \"/a\"\ntoken = \"x\"", "unknown field `token`"),
    ] {
        let err = config_error(&format!("{base}{extra}"));
        assert!(err.contains(expected), "{extra}\n-> {err}");
    }
}

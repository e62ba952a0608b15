//! cronport killed with kill -9 in the middle of delivering, then
//! restarted: the retried run delivers again under the same fire id, and
//! nothing arrives twice.

use std::time::Duration;

use serde_json::Value;

use crate::common::process::{Headless, Sandbox, block_on, config_header, poll};
use crate::common::servers::{Webhook, moto};

#[test]
fn a_redelivery_after_kill_9_does_not_duplicate() {
    let server = moto();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{}/crash", server.port);
    // Versioning keeps every PUT of a key: a second upload would show.
    let versioning = "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>";
    block_on(async {
        assert!(http.put(&base).send().await.unwrap().status().is_success());
        let answer = http
            .put(format!("{base}?versioning"))
            .body(versioning)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{answer:?}");
    });
    // The hook hangs on the first delivery: cronport is killed meanwhile.
    let hook = Webhook::start(&["sleep:60"]);

    let sandbox = Sandbox::new();
    sandbox.write_config(&format!(
        "{header}[destinations.archive]\nkind = \"object_store\"\nurl = \"s3://crash/\"\n\
         path = \"{{job}}/{{date:%Y-%m-%d}}.{{ext}}\"\nregion = \"us-east-1\"\n\
         endpoint = \"http://127.0.0.1:{port}\"\nallow_http = true\n\
         access_key_id_env = \"CRONPORT_TEST_S3_KEY\"\nsecret_access_key_env = \"CRONPORT_TEST_S3_SECRET\"\n\n\
         [destinations.hook]\nkind = \"webhook\"\nurl = \"{hook}\"\ntimeout = \"2m\"\n\n\
         [[jobs]]\nname = \"crashy\"\nschedule = \"0 0 1 1 *\"\nretries = 2\n\
         source = {{ kind = \"command\", argv = [\"printf\", \"a\\\\n1\\\\n\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"archive\", \"hook\"]\n",
        header = config_header(),
        port = server.port,
        hook = hook.url("/in"),
    ));
    sandbox.apply_config();
    let with_keys = |mut cmd: std::process::Command| {
        cmd.env("CRONPORT_TEST_S3_KEY", "testing-key-id")
            .env("CRONPORT_TEST_S3_SECRET", "testing-secret-value");
        cmd
    };

    let mut first = Headless::spawn(with_keys(sandbox.command(&["jobs", "run", "crashy"])));
    poll(
        "the hook to receive the delivery",
        Duration::from_secs(30),
        || {
            first.assert_running();
            (hook.requests().len() == 1).then_some(())
        },
    );
    first.kill9();
    let runs = sandbox.runs();
    assert_eq!(runs.len(), 1);
    let killed = runs[0]["id"].as_i64().unwrap();
    assert_eq!(runs[0]["status"], "running", "{runs:?}");

    let mut second = Headless::spawn(with_keys(sandbox.command(&["--headless"])));
    let retry: Value = poll(
        "the retried run to succeed",
        Duration::from_secs(60),
        || {
            second.assert_running();
            sandbox
                .runs()
                .into_iter()
                .find(|r| r["retry_of"].as_i64() == Some(killed) && r["status"] == "succeeded")
        },
    );
    second.terminate(Duration::from_secs(20));
    assert_eq!(retry["scheduled_for"], runs[0]["scheduled_for"]);

    // One version of the object: the retry found it under its fire id.
    let versions = block_on(async {
        let answer = http.get(format!("{base}?versions")).send().await.unwrap();
        answer.text().await.unwrap()
    });
    assert_eq!(versions.matches("<Version>").count(), 1, "{versions}");
    assert!(versions.contains("crashy/"), "{versions}");
    // And the count is real: one more PUT of the key makes two versions.
    let key = versions
        .split("<Key>")
        .nth(1)
        .and_then(|rest| rest.split("</Key>").next())
        .unwrap()
        .to_string();
    let versions = block_on(async {
        use object_store::ObjectStoreExt as _;
        let store = object_store::aws::AmazonS3Builder::new()
            .with_bucket_name("crash")
            .with_region("us-east-1")
            .with_endpoint(format!("http://127.0.0.1:{}", server.port))
            .with_allow_http(true)
            .with_access_key_id("testing-key-id")
            .with_secret_access_key("testing-secret-value")
            .build()
            .unwrap();
        store
            .put(&key.as_str().into(), b"again".to_vec().into())
            .await
            .unwrap();
        let answer = http.get(format!("{base}?versions")).send().await.unwrap();
        answer.text().await.unwrap()
    });
    assert_eq!(versions.matches("<Version>").count(), 2, "{versions}");
    // The hook got the delivery twice with one idempotency key, so a
    // receiver that honours it keeps one.
    let requests = hook.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[0].headers["idempotency-key"],
        requests[1].headers["idempotency-key"]
    );
    let shown: Value = sandbox
        .run(&["runs", "show", &retry["id"].to_string(), "--json"])
        .ok("runs show")
        .json();
    assert_eq!(
        shown["fire_id"],
        requests[0].headers["idempotency-key"].as_str()
    );
}

//! A destination's server dies in the middle of an upload during a real run:
//! the scheduler, the pipeline, the job's retry policy, a virtual clock for
//! the backoff. A proxy holds the upload at a byte count, so the server is
//! killed at a known point of the transfer, not after a guessed sleep. The
//! attempt fails, the run retries per its policy, and no partial export is
//! ever visible under its final name.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use cronport::clock::VirtualClock;
use cronport::events::{Event, EventBus};
use cronport::scheduler::{Parts, Scheduler};
use cronport::store::RunStatus;
use tokio::sync::broadcast;

use crate::common::proxy::Proxy;
use crate::common::servers::{Sshd, moto, moto_on};
use crate::common::{World, bus, files_under, wait_for};
use crate::s3;

const MIB: u64 = 1024 * 1024;
/// One CSV row of the export (100 bytes with its CRLF).
const ROW: &str = "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq";

/// A job `name` exporting `rows` rows of [`ROW`] to `destination`.
fn job(name: &str, rows: u64, destination: &str, retries: u32) -> String {
    format!(
        "name = \"{name}\"\nschedule = \"* * * * *\"\nretries = {retries}\n\
         source = {{ kind = \"command\", argv = [\"sh\", \"-c\", \"echo line; yes {ROW} | head -n {rows}\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"{destination}\"]\n"
    )
}

/// The file that job renders.
fn rendered(rows: u64) -> Vec<u8> {
    let mut out = b"line\r\n".to_vec();
    for _ in 0..rows {
        out.extend_from_slice(ROW.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The scheduler over the world's config with the real pipeline (recording
/// each destination's outcome), on `clock`.
async fn start(world: &World, clock: &VirtualClock, bus: EventBus) -> Scheduler {
    cronport::logging::init();
    let executor = cronport::scheduler::Exporter::from_config(&world.config, world.store.clone());
    Scheduler::start(Parts {
        store: world.store.clone(),
        config: world.config.clone(),
        clock: Arc::new(clock.clone()),
        executor: Arc::new(executor),
        bus,
        grace: std::time::Duration::from_secs(5),
    })
    .await
    .unwrap()
}

/// A virtual clock 30s into the current minute, and the next minute's slot.
fn clock_and_slot() -> (VirtualClock, DateTime<Utc>) {
    let minute = Utc::now().duration_trunc(Duration::minutes(1)).unwrap();
    let clock = VirtualClock::new((minute + Duration::seconds(30)).max(Utc::now()));
    (clock, minute + Duration::minutes(1))
}

/// The first attempt's failure: the run, when the retry is due, the error.
async fn retry_scheduled(rx: &mut broadcast::Receiver<Event>) -> (i64, DateTime<Utc>, String) {
    wait_for(rx, "the retry of attempt 1", |e| match e {
        Event::RetryScheduled {
            run_id,
            attempt: 1,
            at,
            error,
            ..
        } => Some((*run_id, *at, error.clone())),
        _ => None,
    })
    .await
}

async fn finished(rx: &mut broadcast::Receiver<Event>, run: i64) -> RunStatus {
    wait_for(rx, "the run to finish", |e| match e {
        Event::RunFinished { run_id, status, .. } if *run_id == run => Some(*status),
        _ => None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_killed_mid_multipart_upload_then_started_again_the_retry_delivers() {
    s3::credentials();
    let mut server = moto();
    let port = server.port;
    s3::create_bucket(port, "faults").await;
    // 2 MiB in, the first 8 MiB part is on its way.
    let proxy = Proxy::holding(port, 2 * MIB).await;
    let world = World::new(&format!(
        "[destinations.archive]\n{}\n",
        s3::config(proxy.port, "faults")
    ))
    .await;
    let rows = 120_000;
    world.add_job(&job("big", rows, "archive", 1)).await;
    let (clock, slot) = clock_and_slot();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    clock.set(slot);
    let key = format!("reports/big/{}.csv", slot.format("%Y-%m-%d"));

    proxy.wait_held().await;
    // Mid-upload: the multipart upload is open, the key holds nothing.
    let (status, _, uploads) = s3::raw_get(port, "faults?uploads").await;
    let uploads = String::from_utf8_lossy(&uploads).into_owned();
    assert_eq!(status, 200);
    assert_eq!(uploads.matches("<UploadId>").count(), 1, "{uploads}");
    assert!(uploads.contains(&key), "{uploads}");
    assert!(s3::object(port, "faults", &key).await.is_none());

    server.kill();
    proxy.release();
    let (run, at, error) = retry_scheduled(&mut rx).await;
    assert!(
        error.contains("destination \"archive\"") && error.contains(&format!("s3://faults/{key}")),
        "{error}"
    );

    // The server comes back on the same port (empty: moto keeps nothing).
    let _server = moto_on(port);
    s3::create_bucket(port, "faults").await;
    assert!(s3::object(port, "faults", &key).await.is_none());
    clock.set(at);
    assert_eq!(finished(&mut rx, run).await, RunStatus::Succeeded);
    scheduler.shutdown().await.unwrap();

    let (body, fire, etag) = s3::object(port, "faults", &key)
        .await
        .expect("delivered by the retry");
    assert!(body == rendered(rows), "the object is not the export");
    assert!(etag.trim_matches('"').ends_with("-2"), "{etag}");
    assert_eq!(
        fire,
        Some(format!("big@{}", slot.format("%Y%m%dT%H%M%S%.3fZ")))
    );
    let attempts = world.store.attempts(run).await.unwrap();
    let statuses: Vec<_> = attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [RunStatus::Failed, RunStatus::Succeeded]);
}

/// The files in an sftp folder, by name.
fn names(folder: &Path) -> Vec<String> {
    files_under(folder)
        .into_iter()
        .map(|p| p.display().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sftp_killed_mid_upload_fails_the_run_when_retries_run_out_and_leaves_no_final_file() {
    let mut sshd = Sshd::start();
    // 1 MiB in: logged in, the temporary file open and being written.
    let proxy = Proxy::holding(sshd.server.port, MIB).await;
    // The proxy's port is not the one known_hosts lists: pin the key.
    let world = World::new(&format!(
        "[destinations.partner]\nkind = \"sftp\"\nhost = \"127.0.0.1\"\nport = {port}\n\
         user = \"{user}\"\nkey_file = \"{key}\"\nhost_key_fingerprint = \"{fingerprint}\"\n\
         root = \"{root}\"\npath = \"inbox/{{job}}.{{ext}}\"\ntimeout = \"10s\"\n",
        port = proxy.port,
        user = sshd.user,
        key = sshd.user_key.display(),
        fingerprint = sshd.fingerprint,
        root = sshd.upload_dir().display(),
    ))
    .await;
    world.add_job(&job("feed", 40_000, "partner", 1)).await;
    let (clock, slot) = clock_and_slot();
    let (bus, mut rx) = bus();
    let scheduler = start(&world, &clock, bus).await;
    clock.set(slot);
    let inbox = sshd.upload_dir().join("inbox");

    proxy.wait_held().await;
    // Mid-upload: only a hidden temporary name exists.
    let during = names(&inbox);
    assert_eq!(during.len(), 1, "{during:?}");
    assert!(
        during[0].starts_with(".feed.csv.cronport-") && during[0].ends_with(".part"),
        "{during:?}"
    );

    sshd.server.kill();
    // Without the proxy, its port refuses connections as a dead server's does.
    drop(proxy);
    let (run, at, error) = retry_scheduled(&mut rx).await;
    assert!(
        error.contains("destination \"partner\"") && error.contains("sftp://"),
        "{error}"
    );
    // The dead server could not be asked to remove the temporary file; it
    // stays hidden, and nothing is under the final name.
    assert!(!inbox.join("feed.csv").exists(), "{:?}", names(&inbox));

    // The server stays down: the last try fails with a clear error.
    clock.set(at);
    assert_eq!(finished(&mut rx, run).await, RunStatus::Failed);
    scheduler.shutdown().await.unwrap();
    let record = world.store.get_run(run).await.unwrap().unwrap();
    assert_eq!(record.attempt, 2);
    let error = record.error.unwrap_or_default();
    assert!(
        error.starts_with("destination \"partner\": connect to sftp://"),
        "{error}"
    );
    let after = names(&inbox);
    assert!(
        after.iter().all(|n| n.starts_with(".feed.csv.cronport-")),
        "{after:?}"
    );

    // Back up, the server shows the same: no file under the final name.
    sshd.restart();
    assert!(!inbox.join("feed.csv").exists());
}

//! `deliver = "on_change"`. With the real binary: the same job run three
//! times, its source changing between the second and the third, delivers,
//! sends nothing (succeeded, unchanged), and delivers again; the
//! destination folder holds two files. Under the scheduler in virtual time,
//! the same with three slots. And the hash the pipeline computes while
//! writing is the SHA-256 of the file it wrote.

mod common;

use std::path::Path;

use chrono::{Duration, DurationRound as _, Utc};
use common::process::{Sandbox, config_header, runs_of, text};
use common::{World, bus, wait_for};
use cronport::clock::{Clock as _, VirtualClock};
use cronport::events::Event;
use cronport::store::RunStatus;
use serde_json::Value;

fn on_change_job(sandbox: &Sandbox) {
    sandbox.write("stock.csv", "sku,qty\nA-1,4\nB-2,9\n");
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"stock\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         deliver = \"on_change\"\n\
         source = {{ kind = \"command\", argv = [\"cat\", \"stock.csv\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();
}

fn run_now(sandbox: &Sandbox) -> Value {
    sandbox
        .run(&["jobs", "run", "stock", "--wait"])
        .ok("jobs run stock --wait");
    let runs = sandbox.runs();
    let newest = runs_of(&runs, "stock")
        .first()
        .map(|r| (*r).clone())
        .expect("a run of stock");
    sandbox
        .run(&["runs", "show", &newest["id"].to_string(), "--json"])
        .ok("runs show --json")
        .json()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn the_same_content_is_not_sent_twice() {
    let sandbox = Sandbox::new();
    on_change_job(&sandbox);
    let folder = sandbox.exports().join("stock");

    let first = run_now(&sandbox);
    assert_eq!(text(&first, "status"), "succeeded", "{first}");
    assert_eq!(first["unchanged"], false, "{first}");
    let hash = text(&first, "content_hash").to_string();
    let output = first["outputs"][0].as_str().expect("an output path");
    let delivered = std::fs::read(output).expect("the delivered file");
    assert_eq!(
        hash,
        cronport::export::pipeline::content_hash(xxhash_rust::xxh3::xxh3_128(&delivered)),
        "the hash of the delivered file: {first}"
    );
    assert_eq!(first["deliveries"][0]["status"], "delivered", "{first}");
    assert_eq!(files_under(&folder).len(), 1);

    let second = run_now(&sandbox);
    assert_eq!(text(&second, "status"), "succeeded", "{second}");
    assert_eq!(second["unchanged"], true, "{second}");
    assert_eq!(text(&second, "content_hash"), hash);
    assert_eq!(second["outputs"], serde_json::json!([]), "{second}");
    assert_eq!(second["deliveries"], serde_json::json!([]), "{second}");
    assert_eq!(files_under(&folder).len(), 1, "the second run sent nothing");

    sandbox.write("stock.csv", "sku,qty\nA-1,3\nB-2,9\n");
    let third = run_now(&sandbox);
    assert_eq!(text(&third, "status"), "succeeded", "{third}");
    assert_eq!(third["unchanged"], false, "{third}");
    assert_ne!(text(&third, "content_hash"), hash);
    assert_eq!(third["deliveries"][0]["status"], "delivered", "{third}");

    let files = files_under(&folder);
    assert_eq!(files.len(), 2, "two deliveries: {files:?}");
    let ids = [&first, &third].map(|r| format!("{}.csv", r["id"]));
    assert_eq!(files, ids, "the first and third runs' files");
    let third_file = std::fs::read_to_string(folder.join(&ids[1])).expect("third file");
    assert!(third_file.contains("A-1,3"), "{third_file}");

    // The listing says why the second run sent nothing, and so does its log.
    let list = sandbox
        .run(&["runs", "list", "--job", "stock"])
        .ok("runs list");
    let second_line = list
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&second["id"].to_string()))
        .unwrap_or_else(|| panic!("no line for the second run:\n{}", list.stdout));
    assert!(second_line.contains("succeeded"), "{second_line}");
    assert!(second_line.contains("unchanged"), "{second_line}");
    let show = sandbox
        .run(&["runs", "show", &second["id"].to_string()])
        .ok("runs show");
    assert!(
        show.stdout.contains("unchanged     true"),
        "{}",
        show.stdout
    );
    let logs = sandbox
        .run(&["runs", "logs", &second["id"].to_string()])
        .ok("runs logs");
    assert!(
        logs.stdout
            .contains("unchanged: the output is the same as the last delivered run's"),
        "{}",
        logs.stdout
    );
}

#[test]
fn the_headless_log_says_a_run_was_unchanged() {
    let sandbox = Sandbox::new();
    on_change_job(&sandbox);
    let mut headless = sandbox.headless(&[]);
    let limit = std::time::Duration::from_secs(30);
    headless.wait_for_line("scheduler started", limit);
    // Through the running instance: it carries the runs out and logs them.
    for _ in 0..2 {
        sandbox
            .run(&["jobs", "run", "stock", "--wait"])
            .ok("jobs run stock --wait");
    }
    let line = headless.wait_for_line("succeeded, unchanged", limit);
    assert!(line.contains("nothing delivered"), "{line}");
    assert!(line.contains("stock"), "the line names the job: {line}");
    headless.terminate(limit);
    assert_eq!(files_under(&sandbox.exports().join("stock")).len(), 1);
}

#[test]
fn a_job_that_always_delivers_sends_the_same_content_again() {
    let sandbox = Sandbox::new();
    sandbox.write("stock.csv", "sku,qty\nA-1,4\n");
    sandbox.write_config(&format!(
        "{}[[jobs]]\nname = \"stock\"\nschedule = \"0 0 1 1 *\"\nretries = 0\n\
         source = {{ kind = \"command\", argv = [\"cat\", \"stock.csv\"] }}\n\
         format = {{ kind = \"csv\" }}\ndestinations = [\"out\"]\n",
        config_header()
    ));
    sandbox.apply_config();
    let first = run_now(&sandbox);
    let second = run_now(&sandbox);
    for run in [&first, &second] {
        assert_eq!(run["unchanged"], false, "{run}");
        assert_eq!(
            run["content_hash"],
            Value::Null,
            "no hash without on_change: {run}"
        );
    }
    assert_eq!(files_under(&sandbox.exports().join("stock")).len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_deliver_skip_and_deliver_as_the_content_changes() {
    let world = World::new("").await;
    let data = world.dir.path().join("stock.csv");
    std::fs::write(&data, "sku,qty\nA-1,4\n").unwrap();
    world
        .add_job(&format!(
            r#"name = "stock"
schedule = "* * * * *"
deliver = "on_change"
source = {{ kind = "command", argv = ["cat", {:?}] }}
format = {{ kind = "csv" }}
destinations = ["out"]
retries = 0"#,
            data.display().to_string()
        ))
        .await;
    let start = Utc::now().duration_trunc(Duration::minutes(1)).unwrap() + Duration::seconds(30);
    let clock = VirtualClock::new(start.max(Utc::now()));
    let (bus, mut rx) = bus();
    let scheduler =
        common::start_scheduler(&world, &clock, bus, std::time::Duration::from_secs(5)).await;
    let mut slot = clock.now().duration_trunc(Duration::minutes(1)).unwrap();
    let mut runs = Vec::new();
    for round in 0..3 {
        if round == 2 {
            std::fs::write(&data, "sku,qty\nA-1,5\n").unwrap();
        }
        slot += Duration::minutes(1);
        clock.set(slot);
        let (run_id, status) = wait_for(&mut rx, "run finished", |e| match e {
            Event::RunFinished { run_id, status, .. } => Some((*run_id, *status)),
            _ => None,
        })
        .await;
        assert_eq!(status, RunStatus::Succeeded, "round {round}");
        runs.push(run_id);
    }
    scheduler.shutdown().await.unwrap();

    let mut records = Vec::new();
    for id in &runs {
        records.push(world.store.get_run(*id).await.unwrap().unwrap());
    }
    let unchanged: Vec<bool> = records.iter().map(|r| r.unchanged).collect();
    assert_eq!(unchanged, [false, true, false]);
    assert_eq!(records[0].content_hash, records[1].content_hash);
    assert_ne!(records[1].content_hash, records[2].content_hash);
    assert!(records[1].outputs.is_empty());
    let deliveries = world.store.deliveries(&runs).await.unwrap();
    assert!(!deliveries.contains_key(&runs[1]), "{deliveries:?}");
    let files = common::files_under(&world.exports());
    assert_eq!(files.len(), 2, "{files:?}");
    for id in [runs[0], runs[2]] {
        let name = std::path::PathBuf::from(format!("stock/{id}.csv"));
        assert!(files.contains(&name), "{name:?} not in {files:?}");
    }
    assert_eq!(
        world
            .store
            .last_delivered_hash(records[2].job_id)
            .await
            .unwrap(),
        records[2].content_hash
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamed_hash_is_the_hash_of_the_written_file() {
    use cronport::export::format::FormatSpec;
    use cronport::export::source::SourceSpec;

    let world = World::new("").await;
    let pipeline = world.config.pipeline();
    let source: SourceSpec = toml::from_str::<toml::Table>(
        "s = { kind = \"command\", argv = [\"sh\", \"-c\", \"echo id,name; seq 1 50000 | sed 's/$/,x/'\"] }",
    )
    .unwrap()["s"]
        .clone()
        .try_into()
        .unwrap();
    for format in [
        "{ kind = \"csv\" }",
        "{ kind = \"csv\", compression = \"gzip\" }",
        "{ kind = \"json\" }",
    ] {
        let format: FormatSpec =
            toml::from_str::<toml::Table>(&format!("f = {format}")).unwrap()["f"]
                .clone()
                .try_into()
                .unwrap();
        let ctx = cronport::export::RunContext {
            job: "hash".into(),
            run_id: 1,
            attempt: 1,
            scheduled_for: Utc::now(),
            window_start: Utc::now(),
            window_end: Utc::now(),
            timezone: chrono_tz::UTC,
        };
        let rendered = pipeline
            .render_file(
                &source,
                &format,
                &ctx,
                cronport::export::pipeline::Measure {
                    hash: true,
                    schema: false,
                },
            )
            .await
            .unwrap();
        let file = rendered.file.as_ref().expect("a file");
        let bytes = std::fs::read(file.path()).unwrap();
        assert_eq!(rendered.rows, 50_000);
        assert_eq!(rendered.bytes, bytes.len() as u64);
        let expected =
            cronport::export::pipeline::content_hash(xxhash_rust::xxh3::xxh3_128(&bytes));
        assert_eq!(
            rendered.content_hash.as_deref(),
            Some(expected.as_str()),
            "{format:?}"
        );
        // Without asking, nothing is hashed.
        let plain = pipeline
            .render_file(&source, &format, &ctx, Default::default())
            .await
            .unwrap();
        assert_eq!(plain.content_hash, None);
    }
}

//! A dry run (the console's `D`) renders as a run would and delivers
//! nothing: rows, size and the first lines come back, the destination
//! stays empty and the spool is cleaned up.

mod common;

use chrono::Utc;
use common::{World, files_under};
use cronport::export::{Pipeline, RunContext};

#[tokio::test]
async fn a_dry_run_previews_and_delivers_nothing() {
    let world = World::new("").await;
    world
        .add_job(
            "name = \"numbers\"\nschedule = \"daily at 02:00\"\n\
             source = { kind = \"command\", argv = [\"seq\", \"-f\", \"%g,x\", \"1\", \"100\"] }\n\
             format = { kind = \"csv\" }\ndestinations = [\"out\"]\n",
        )
        .await;
    let record = world.store.get_job("numbers").await.unwrap().unwrap();
    let spec: cronport::job::JobSpec = serde_json::from_str(&record.definition).unwrap();
    let now = Utc::now();
    let ctx = RunContext {
        job: "numbers".into(),
        run_id: 0,
        attempt: 1,
        scheduled_for: now,
        window_start: now,
        window_end: now,
        timezone: chrono_tz::UTC,
    };
    let report = Pipeline::from_config(&world.config)
        .dry_run(&spec.source, &spec.format, &ctx, 3)
        .await
        .unwrap();
    // The program's first line is the header: 99 rows follow.
    assert_eq!(report.rows, 99);
    assert_eq!(report.preview, ["1,x", "2,x", "3,x"]);
    assert!(report.bytes > 99 * 4, "{} bytes", report.bytes);
    assert!(
        files_under(&world.exports()).is_empty(),
        "nothing delivered"
    );
    assert!(files_under(&world.spool()).is_empty(), "spool cleaned up");
}

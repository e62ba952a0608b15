//! A dry run (the console's `D`, `cronport jobs run NAME --dry-run`)
//! renders the first rows as a run would and delivers nothing: columns, rows
//! and their size come back, the destination stays empty, the spool is
//! clean and no run is recorded.

mod common;

use common::{World, files_under};

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
    // The same path as the console's `D` and `jobs run --dry-run`.
    let preview = cronport::control::dry_run(
        &world.store,
        &world.config,
        &world.config.pipeline(),
        "numbers",
        3,
    )
    .await
    .unwrap();
    // The program's first line is the header; three of its 99 rows show.
    assert_eq!(preview.columns, ["1", "x"]);
    let some = |v: &str| Some(v.to_string());
    assert_eq!(
        preview.rows,
        [
            [some("2"), some("x")],
            [some("3"), some("x")],
            [some("4"), some("x")]
        ]
    );
    assert_eq!(preview.rows_rendered, 3);
    assert!(!preview.complete, "more rows follow");
    assert_eq!(preview.bytes, "1,x\r\n2,x\r\n3,x\r\n4,x\r\n".len() as u64);
    assert!(
        world
            .store
            .list_runs(&Default::default())
            .await
            .unwrap()
            .is_empty(),
        "a dry run records no run"
    );
    assert!(
        files_under(&world.exports()).is_empty(),
        "nothing delivered"
    );
    assert!(files_under(&world.spool()).is_empty(), "spool cleaned up");
}

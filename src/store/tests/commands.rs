//! Commands from consoles to the lease holder.

use std::collections::HashSet;

use super::{TestDb, at, store_test};
use crate::store::{CommandKind, NewCommand, StoreError};

store_test!(
    commands_are_taken_once_and_completed,
    concurrent_takers_split_commands,
    changes_show_job_edits_and_waiting_commands,
);

fn command(kind: CommandKind, job: Option<&str>, secs: i64) -> NewCommand {
    NewCommand {
        kind,
        job_name: job.map(str::to_owned),
        run_id: None,
        requested_at: at(secs),
    }
}

async fn commands_are_taken_once_and_completed(db: TestDb) {
    let store = db.open().await;
    let pause = store
        .push_command(&command(CommandKind::Pause, Some("a"), 1))
        .await
        .expect("push");
    let run = store
        .push_command(&command(CommandKind::Run, Some("a"), 2))
        .await
        .expect("push");
    let taken = store.take_commands("inst-a", at(3)).await.expect("take");
    assert_eq!(taken.iter().map(|c| c.id).collect::<Vec<_>>(), [pause, run]);
    assert_eq!(taken[0].kind, CommandKind::Pause);
    assert_eq!(taken[1].job_name.as_deref(), Some("a"));
    assert!(
        taken
            .iter()
            .all(|c| c.taken_by.as_deref() == Some("inst-a"))
    );
    assert!(
        taken
            .iter()
            .all(|c| c.taken_at == Some(at(3)) && !c.completed)
    );
    assert!(
        store
            .take_commands("inst-b", at(4))
            .await
            .expect("take")
            .is_empty()
    );

    store
        .complete_command(run, Some(77), None)
        .await
        .expect("complete");
    store
        .complete_command(pause, None, Some("no job named 'a'".to_owned()))
        .await
        .expect("complete");
    let done = store.get_command(run).await.expect("get").expect("command");
    assert!(done.completed);
    assert_eq!((done.result_run_id, done.error), (Some(77), None));
    let failed = store
        .get_command(pause)
        .await
        .expect("get")
        .expect("command");
    assert_eq!(failed.error.as_deref(), Some("no job named 'a'"));
    assert!(store.get_command(9_999).await.expect("get").is_none());
    let err = store
        .complete_command(9_999, None, None)
        .await
        .expect_err("unknown");
    assert!(matches!(err, StoreError::NotFound { .. }), "{err}");

    let err = store
        .push_command(&command(CommandKind::Cancel, None, 5))
        .await
        .expect_err("cancel needs a run");
    assert!(matches!(err, StoreError::Invalid { .. }), "{err}");
    store
        .push_command(&command(CommandKind::PauseAll, None, 5))
        .await
        .expect("pause all needs nothing");
}

async fn concurrent_takers_split_commands(db: TestDb) {
    let a = db.open().await;
    let b = db.open().await;
    let mut pushed = HashSet::new();
    for i in 0..50 {
        pushed.insert(
            a.push_command(&command(CommandKind::Reload, None, i))
                .await
                .expect("push"),
        );
    }
    let mut seen = HashSet::new();
    for round in 0..5 {
        let (x, y) = tokio::join!(
            a.take_commands("a", at(100 + round)),
            b.take_commands("b", at(100 + round))
        );
        for c in x.expect("take").into_iter().chain(y.expect("take")) {
            assert!(seen.insert(c.id), "command {} taken twice", c.id);
        }
    }
    assert_eq!(seen, pushed);
}

async fn changes_show_job_edits_and_waiting_commands(db: TestDb) {
    let store = db.open().await;
    let start = store.changes().await.expect("changes");
    assert!(!start.commands_waiting);
    assert_eq!(
        start.jobs_version,
        store.jobs_version().await.expect("version")
    );
    super::seed_job(&store, "a").await;
    store
        .push_command(&command(CommandKind::Run, Some("a"), 1))
        .await
        .expect("push");
    let now = store.changes().await.expect("changes");
    assert!(now.commands_waiting);
    assert!(now.jobs_version > start.jobs_version);
    assert_eq!(
        store
            .take_commands("inst-a", at(2))
            .await
            .expect("take")
            .len(),
        1
    );
    assert!(!store.changes().await.expect("changes").commands_waiting);
}

//! Taking over from a dead lease holder: the lease taken once and handed
//! on, and the commands left for the dead holder closed, never run late.

use std::time::Duration;

use super::{TestDb, at, store_test};
use crate::store::{CommandKind, InstanceInfo, Liveness, NewCommand};

store_test!(
    old_untaken_commands_expire_and_are_never_taken,
    a_withdrawn_command_is_not_taken_and_a_taken_one_is_not_withdrawn,
    commands_a_dead_instance_took_are_closed,
    one_of_two_takers_gets_a_dead_holders_lease_and_hands_it_on,
    liveness_reads_the_heartbeat_and_the_stop,
);

const TTL: Duration = Duration::from_secs(15);

fn instance(id: &str) -> InstanceInfo {
    InstanceInfo {
        id: id.to_owned(),
        hostname: "host-1".to_owned(),
        pid: 4242,
        version: "0.1.0".to_owned(),
        started_at: at(0),
        takes_work: true,
    }
}

fn run_now(job: &str, secs: i64) -> NewCommand {
    NewCommand {
        kind: CommandKind::Run,
        job_name: Some(job.to_owned()),
        run_id: None,
        requested_at: at(secs),
    }
}

async fn old_untaken_commands_expire_and_are_never_taken(db: TestDb) {
    let store = db.open().await;
    // b was taken by an instance that is at work on it: not expired,
    // however old it is.
    let busy = store.push_command(&run_now("b", 11)).await.expect("push");
    store.take_commands("inst-a", at(12)).await.expect("take");
    let old = store.push_command(&run_now("a", 10)).await.expect("push");
    let fresh = store.push_command(&run_now("c", 25)).await.expect("push");
    let expired = store
        .expire_commands(at(20), "console", at(30), "expired: too old")
        .await
        .expect("expire");
    assert_eq!(expired.iter().map(|c| c.id).collect::<Vec<_>>(), [old]);
    let record = store.get_command(old).await.expect("get").expect("command");
    assert!(record.completed);
    assert_eq!(record.error.as_deref(), Some("expired: too old"));
    assert_eq!(record.taken_by.as_deref(), Some("console"));
    assert_eq!(record.taken_at, Some(at(30)));
    // The fresh one is left for the new holder, which takes only it.
    let taken_now = store.take_commands("inst-b", at(31)).await.expect("take");
    assert_eq!(taken_now.iter().map(|c| c.id).collect::<Vec<_>>(), [fresh]);
    assert!(!store.changes().await.expect("changes").commands_waiting);
    let record = store
        .get_command(busy)
        .await
        .expect("get")
        .expect("command");
    assert!(!record.completed, "the taken one is its taker's to finish");
    // Nothing left to expire.
    assert!(
        store
            .expire_commands(at(100), "console", at(100), "x")
            .await
            .expect("expire")
            .is_empty()
    );
}

async fn a_withdrawn_command_is_not_taken_and_a_taken_one_is_not_withdrawn(db: TestDb) {
    let store = db.open().await;
    let first = store.push_command(&run_now("a", 1)).await.expect("push");
    assert!(
        store
            .withdraw_command(first, "asker", at(11), "gone")
            .await
            .expect("withdraw")
    );
    assert!(
        store
            .take_commands("inst-a", at(12))
            .await
            .expect("take")
            .is_empty(),
        "a withdrawn command is not taken"
    );
    let record = store
        .get_command(first)
        .await
        .expect("get")
        .expect("command");
    assert!(record.completed);
    assert_eq!(record.error.as_deref(), Some("gone"));

    let second = store.push_command(&run_now("b", 2)).await.expect("push");
    let taken = store.take_commands("inst-a", at(3)).await.expect("take");
    assert_eq!(taken.len(), 1);
    assert!(
        !store
            .withdraw_command(second, "asker", at(12), "gone")
            .await
            .expect("withdraw"),
        "a taken command stays with its taker"
    );
    let record = store
        .get_command(second)
        .await
        .expect("get")
        .expect("command");
    assert!(!record.completed);
    assert_eq!(record.error, None);
    assert!(
        !store
            .withdraw_command(9_999, "asker", at(12), "gone")
            .await
            .expect("withdraw")
    );
}

async fn commands_a_dead_instance_took_are_closed(db: TestDb) {
    let store = db.open().await;
    let done = store.push_command(&run_now("a", 1)).await.expect("push");
    let open = store.push_command(&run_now("b", 2)).await.expect("push");
    store.take_commands("dead", at(3)).await.expect("take");
    store
        .complete_command(done, Some(7), None)
        .await
        .expect("complete");
    let other = store.push_command(&run_now("c", 4)).await.expect("push");
    store.take_commands("alive", at(5)).await.expect("take");

    let closed = store
        .abandon_commands("dead", "dead stopped first")
        .await
        .expect("abandon");
    assert_eq!(closed.iter().map(|c| c.id).collect::<Vec<_>>(), [open]);
    let record = store
        .get_command(open)
        .await
        .expect("get")
        .expect("command");
    assert!(record.completed);
    assert_eq!(record.error.as_deref(), Some("dead stopped first"));
    let kept = store
        .get_command(done)
        .await
        .expect("get")
        .expect("command");
    assert_eq!((kept.result_run_id, kept.error), (Some(7), None));
    let theirs = store
        .get_command(other)
        .await
        .expect("get")
        .expect("command");
    assert!(!theirs.completed, "another taker's command is left alone");
}

async fn one_of_two_takers_gets_a_dead_holders_lease_and_hands_it_on(db: TestDb) {
    let store = db.open().await;
    for id in ["dead", "console-a", "console-b", "scheduler-a"] {
        store
            .register_instance(&instance(id))
            .await
            .expect("register");
    }
    assert!(
        store
            .try_acquire_lease("dead", at(0), TTL)
            .await
            .expect("lease")
    );
    // Two consoles see the holder's process gone before its lease ends,
    // on their own connections at the same moment: exactly one wins.
    let (a, b) = (db.open().await, db.open().await);
    let (won_a, won_b) = tokio::join!(
        a.take_lease_from("dead", "console-a", at(5), TTL),
        b.take_lease_from("dead", "console-b", at(5), TTL),
    );
    let (won_a, won_b) = (won_a.expect("take"), won_b.expect("take"));
    assert!(won_a ^ won_b, "a won: {won_a}, b won: {won_b}");
    let (winner, loser) = if won_a {
        ("console-a", "console-b")
    } else {
        ("console-b", "console-a")
    };
    let holder = store.lease_holder(at(6)).await.expect("holder");
    assert_eq!(holder.map(|h| h.id).as_deref(), Some(winner));

    // Only the holder can hand it on, and only to a registered instance.
    assert!(
        !store
            .hand_over_lease(loser, "scheduler-a", at(7), TTL)
            .await
            .expect("hand over")
    );
    assert!(
        !store
            .hand_over_lease(winner, "unregistered", at(7), TTL)
            .await
            .expect("hand over")
    );
    assert!(
        store
            .hand_over_lease(winner, "scheduler-a", at(7), TTL)
            .await
            .expect("hand over")
    );
    let holder = store.lease_holder(at(21)).await.expect("holder");
    assert_eq!(
        holder.map(|h| h.id).as_deref(),
        Some("scheduler-a"),
        "held until 7 + 15"
    );
    // The new holder renews it as its own.
    assert!(
        store
            .try_acquire_lease("scheduler-a", at(21), TTL)
            .await
            .expect("renew")
    );
    assert!(
        !store
            .take_lease_from("dead", "console-b", at(22), TTL)
            .await
            .expect("take"),
        "the dead holder's lease is gone"
    );
}

async fn liveness_reads_the_heartbeat_and_the_stop(db: TestDb) {
    let store = db.open().await;
    assert_eq!(store.instance_liveness("a").await.expect("read"), None);
    store
        .register_instance(&instance("a"))
        .await
        .expect("register");
    store.heartbeat("a", at(5)).await.expect("heartbeat");
    assert_eq!(
        store.instance_liveness("a").await.expect("read"),
        Some(Liveness {
            heartbeat_at: at(5),
            stopped_at: None
        })
    );
    store.mark_stopped("a", at(9)).await.expect("stop");
    assert_eq!(
        store.instance_liveness("a").await.expect("read"),
        Some(Liveness {
            heartbeat_at: at(5),
            stopped_at: Some(at(9))
        })
    );
}

//! The audit trail (record, list by job and time, prune) and the
//! operator's retry queued through the run queue.

use super::{TestDb, at, manual_run, seed_job, store_test};
use crate::store::{
    AuditAction, AuditFilter, NewAuditEntry, RetryQueued, RunFilter, RunStatus, Store, Trigger, Way,
};

store_test!(
    entries_are_listed_newest_first_by_job_and_time_and_pruned,
    a_retry_is_queued_once_and_only_for_runs_that_ended_badly,
    runs_are_listed_by_status_and_since,
);

fn entry(action: AuditAction, job: Option<&str>, secs: i64) -> NewAuditEntry {
    NewAuditEntry {
        at: at(secs),
        actor_user: "alice".into(),
        actor_host: "desk".into(),
        way: Way::Console,
        instance: "srv:42:0000beef".into(),
        action,
        job: job.map(str::to_owned),
        run_id: None,
        outcome: "done".into(),
        before: Some(r#"{"v":1}"#.into()),
        after: Some(r#"{"v":2}"#.into()),
    }
}

async fn entries_are_listed_newest_first_by_job_and_time_and_pruned(db: TestDb) {
    let store = db.open().await;
    let written = [
        entry(AuditAction::Create, Some("a"), 10),
        entry(AuditAction::PauseAll, None, 20),
        entry(AuditAction::Update, Some("a"), 30),
        entry(AuditAction::Delete, Some("b"), 40),
    ];
    for e in &written {
        store.record_audit(e).await.expect("record");
    }
    let all = store
        .audit_entries(&AuditFilter::default())
        .await
        .expect("list");
    let listed: Vec<_> = all.iter().map(|e| e.entry.clone()).collect();
    let newest_first: Vec<_> = written.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first, "every field comes back as written");

    let of_a = AuditFilter {
        job: Some("a".into()),
        ..AuditFilter::default()
    };
    let actions: Vec<_> = store
        .audit_entries(&of_a)
        .await
        .expect("list a")
        .iter()
        .map(|e| e.entry.action)
        .collect();
    assert_eq!(actions, [AuditAction::Update, AuditAction::Create]);

    let since = AuditFilter {
        since: Some(at(30)),
        ..AuditFilter::default()
    };
    assert_eq!(store.audit_entries(&since).await.expect("since").len(), 2);

    assert_eq!(store.prune_audit(at(25)).await.expect("prune"), 2);
    let left = store
        .audit_entries(&AuditFilter::default())
        .await
        .expect("list");
    assert!(left.iter().all(|e| e.entry.at >= at(25)), "{left:?}");
    assert_eq!(left.len(), 2);
}

/// Ends run `id` as `status` at `at(secs)`.
async fn end(store: &Store, id: i64, status: RunStatus, secs: i64) {
    sqlx::query("UPDATE runs SET status = $2, started_at = $3, finished_at = $3 WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .bind(crate::store::ms(at(secs)))
        .execute(&store.pool)
        .await
        .expect("end run");
}

async fn a_retry_is_queued_once_and_only_for_runs_that_ended_badly(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "j").await;
    let failed = store
        .insert_run(&manual_run(job.id, 10))
        .await
        .expect("run");
    end(&store, failed, RunStatus::Failed, 11).await;
    let succeeded = store
        .insert_run(&manual_run(job.id, 20))
        .await
        .expect("run");
    end(&store, succeeded, RunStatus::Succeeded, 21).await;
    let running = store
        .insert_run(&manual_run(job.id, 30))
        .await
        .expect("run");
    end(&store, running, RunStatus::Running, 31).await;

    let RetryQueued::Queued(retry) = store.queue_retry(failed, at(40)).await.expect("retry") else {
        panic!("a failed run is retried");
    };
    let run = store.get_run(retry).await.expect("get").expect("the retry");
    assert_eq!(run.trigger, Trigger::Retry);
    assert_eq!(run.status, RunStatus::Queued);
    assert_eq!(run.retry_of, Some(failed));
    assert_eq!(
        run.scheduled_for,
        at(10),
        "the retry stands for the same slot"
    );
    assert_eq!(run.instance_id, None, "any instance may take it");

    let again = store.queue_retry(failed, at(41)).await.expect("retry");
    assert!(
        matches!(&again, RetryQueued::Refused(why) if why.contains(&format!("as run {retry}"))),
        "{again:?}"
    );
    for (id, state) in [(succeeded, "succeeded"), (running, "running")] {
        let refused = store.queue_retry(id, at(42)).await.expect("retry");
        assert!(
            matches!(&refused, RetryQueued::Refused(why) if why.contains(state)),
            "{refused:?}"
        );
    }
    let unknown = store.queue_retry(424_242, at(43)).await.expect("retry");
    assert!(matches!(&unknown, RetryQueued::Refused(why) if why.contains("424242")));
}

async fn runs_are_listed_by_status_and_since(db: TestDb) {
    let store = db.open().await;
    let job = seed_job(&store, "j").await;
    let mut ids = Vec::new();
    for (secs, status) in [
        (10, RunStatus::Failed),
        (20, RunStatus::Succeeded),
        (30, RunStatus::Failed),
    ] {
        let id = store
            .insert_run(&manual_run(job.id, secs))
            .await
            .expect("run");
        end(&store, id, status, secs + 1).await;
        ids.push(id);
    }
    let listed = |status, since| {
        let store = store.clone();
        async move {
            let filter = RunFilter {
                status,
                since,
                ..RunFilter::default()
            };
            let runs = store.list_runs(&filter).await.expect("list");
            runs.iter().map(|r| r.id).collect::<Vec<_>>()
        }
    };
    assert_eq!(
        listed(Some(RunStatus::Failed), None).await,
        [ids[2], ids[0]]
    );
    assert_eq!(
        listed(Some(RunStatus::Failed), Some(at(25))).await,
        [ids[2]]
    );
    assert_eq!(listed(None, Some(at(15))).await, [ids[2], ids[1]]);
}
